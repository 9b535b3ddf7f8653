package cptquant.report;

import cptquant.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;

/** PNG charts for reports: per-layer sensitivity bars (the paper's Figures 2-4) and size/quality curves. */
public final class Charts {
    private Charts() {}

    static {
        System.setProperty("java.awt.headless", "true");
    }

    /** A bar per unit: its sensitivity under {@code method}. */
    public static void sensitivityBars(Path png, String title, String method, List<String> units, double[] values) {
        CategoryChart c = new CategoryChartBuilder().width(900).height(480).title(title)
                .xAxisTitle("layer").yAxisTitle(method + " sensitivity").build();
        c.getStyler().setLegendVisible(false);
        c.getStyler().setXAxisLabelRotation(units.size() > 12 ? 60 : 0);
        c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        c.addSeries(method, units, java.util.Arrays.stream(values).boxed().toList());
        save(c, png);
    }

    /** One named curve of (x, y) points, e.g. model size against perplexity for a family of plans. */
    public record Curve(String name, double[] x, double[] y) {}

    /** Lines with markers, one per curve; {@code points} are single labelled markers (e.g. uniform baselines). */
    public static void curves(Path png, String title, String xTitle, String yTitle, List<Curve> lines, List<Curve> points) {
        XYChart c = new XYChartBuilder().width(900).height(520).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        for (Curve l : lines) c.addSeries(l.name(), l.x(), l.y());
        for (Curve p : points) {
            c.addSeries(p.name(), p.x(), p.y()).setXYSeriesRenderStyle(org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Scatter);
        }
        save(c, png);
    }

    private static void save(Chart<?, ?> chart, Path png) {
        try {
            AtomicFiles.write(png, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
        } catch (IOException e) {
            throw new UncheckedIOException(png + ": cannot render chart (" + e.getMessage() + ")", e);
        }
    }
}
