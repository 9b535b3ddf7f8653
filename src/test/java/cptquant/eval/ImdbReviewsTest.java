package cptquant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.TestData;
import cptquant.io.ModelFormatException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImdbReviewsTest {

    @Test
    void readsTheRealTestSplit() {
        List<ImdbReviews.Review> test = ImdbReviews.read(TestData.require(ImdbReviews.TEST));
        assertEquals(25_000, test.size());
        assertEquals(12_500, test.stream().filter(r -> r.label() == 1).count());
        assertEquals("test/neg/9438_4.txt", test.get(0).id());
        assertTrue(test.get(0).text().startsWith("I know this film was shown on local TV"));
    }

    @Test
    void subsetIsBalancedAndSeeded() {
        List<ImdbReviews.Review> all = IntStream.range(0, 100)
                .mapToObj(i -> new ImdbReviews.Review("r" + i, i % 3 == 0 ? 1 : 0, "t")).toList();
        var a = ImdbReviews.balancedSubset(all, 21, 7);
        assertEquals(21, a.size());
        assertEquals(11, a.stream().filter(r -> r.label() == 1).count());
        assertEquals(a, ImdbReviews.balancedSubset(all, 21, 7));
        assertNotEquals(a, ImdbReviews.balancedSubset(all, 21, 8));
        assertEquals(all, ImdbReviews.balancedSubset(all, 500, 7));
        assertThrows(IllegalArgumentException.class, () -> ImdbReviews.balancedSubset(all, 90, 7));
    }

    @Test
    void badLabelNamesTheFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.jsonl.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(f))) {
            out.write("{\"id\":\"a\",\"label\":1,\"text\":\"ok\"}\n{\"id\":\"b\",\"label\":3,\"text\":\"x\"}\n"
                    .getBytes(StandardCharsets.UTF_8));
        }
        var e = assertThrows(ModelFormatException.class, () -> ImdbReviews.read(f));
        assertTrue(e.getMessage().startsWith(f + ": review 2"), e.getMessage());
        Files.writeString(f, "not gzip");
        assertThrows(ModelFormatException.class, () -> ImdbReviews.read(f));
    }
}
