package cptquant.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportPartsTest {

    @Test
    void segmentsSplitAtThirtyAndSixtyPercent() {
        // 10 layers: [0,3) [3,6) [6,10).
        double[] v = {1, 2, 3, 10, 10, 10, 0, 0, 4, 4};
        SegmentStats s = SegmentStats.of(v);
        assertEquals(0, s.first().from());
        assertEquals(3, s.first().to());
        assertEquals(2.0, s.first().mean(), 1e-12);
        assertEquals(Math.sqrt(2.0 / 3), s.first().std(), 1e-12);
        assertEquals(6, s.middle().to());
        assertEquals(10.0, s.middle().mean(), 1e-12);
        assertEquals(0.0, s.middle().std(), 1e-12);
        assertEquals(2.0, s.rest().mean(), 1e-12);
        assertEquals(2.0, s.rest().std(), 1e-12);
    }

    @Test
    void sixLayersSplitTwoTwoTwo() {
        SegmentStats s = SegmentStats.of(new double[6]);
        assertEquals(2, s.first().to());
        assertEquals(4, s.middle().to());
        assertEquals(6, s.rest().to());
    }

    @Test
    void chartsArePngImages(@TempDir Path dir) throws Exception {
        Path bars = dir.resolve("bars.png");
        Charts.sensitivityBars(bars, "t", "cmpq", List.of("layers.0", "layers.1"), new double[] {0.1, 0.4});
        BufferedImage img = ImageIO.read(bars.toFile());
        assertEquals(900, img.getWidth());
        Path curve = dir.resolve("pareto.png");
        Charts.curves(curve, "t", "MB", "ppl", List.of(new Charts.Curve("budget", new double[] {1, 2}, new double[] {5, 4})),
                List.of(new Charts.Curve("int8", new double[] {2}, new double[] {4.1})));
        assertTrue(Files.size(curve) > 1000);
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no temporary files left behind");
        }
    }
}
