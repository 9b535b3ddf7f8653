package cptquant.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import cptquant.io.AtomicFiles;
import cptquant.sensitivity.Profile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Writes a {@link ReportRunner.Result} as report.md, report.json and PNG charts into a directory. */
public final class ReportWriter {
    private ReportWriter() {}

    /** Writes all files (each atomically) and returns the markdown text. */
    public static String write(ReportRunner.Result r, Path dir) {
        try {
            Files.createDirectories(dir);
            AtomicFiles.writeString(dir.resolve("report.json"), new ObjectMapper()
                    .enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot write report (" + e.getMessage() + ")", e);
        }
        for (ReportRunner.MethodResult m : r.methods()) {
            Profile p = m.profile();
            Charts.sensitivityBars(dir.resolve("sensitivity_" + p.method().name().toLowerCase(Locale.ROOT) + ".png"),
                    p.method() + " sensitivity per layer (" + r.model() + ", " + r.task() + ")", p.method().name(),
                    p.units(), p.sensitivity());
        }
        if (!r.pareto().isEmpty()) paretoChart(r, dir.resolve("pareto.png"));
        String md = markdown(r);
        AtomicFiles.writeString(dir.resolve("report.md"), md);
        return md;
    }

    private static void paretoChart(ReportRunner.Result r, Path png) {
        List<Charts.Curve> points = new ArrayList<>();
        for (ReportRunner.Row u : r.uniform()) points.add(point(u));
        for (ReportRunner.MethodResult m : r.methods()) points.add(point(m.kmeans()));
        double[] x = r.pareto().stream().mapToDouble(row -> row.bytes() / 1e6).toArray();
        double[] y = r.pareto().stream().mapToDouble(ReportRunner.Row::metric).toArray();
        Charts.curves(png, "Size vs " + r.metric() + " (" + r.model() + ", " + r.task() + ")", "stored size (MB)",
                r.metric(), List.of(new Charts.Curve("budgeted (" + r.settings().paretoMethod() + ")", x, y)), points);
    }

    private static Charts.Curve point(ReportRunner.Row row) {
        return new Charts.Curve(row.name(), new double[] {row.bytes() / 1e6}, new double[] {row.metric()});
    }

    /** The human report. */
    static String markdown(ReportRunner.Result r) {
        StringBuilder s = new StringBuilder();
        s.append("# cptquant report: ").append(r.model()).append(" on ").append(r.task()).append("\n\n");
        s.append(r.data()).append("\n\n");
        s.append(String.format(Locale.ROOT, "Integer group size: %s. Sizes count every stored byte (packed weights, "
                + "scales, zero points; embeddings, norms and biases at FP16, or FP32 for the baseline).%n%n",
                r.settings().groupSize() == 0 ? "per output channel" : r.settings().groupSize()));
        s.append("## Results (the paper's Table 2)\n\n");
        s.append("| configuration | allocation | bits per block | size (MB) | CR vs FP32 | CR vs FP16 | avg weight bits | ")
                .append(r.metric()).append(" | ").append(r.damage()).append(" | time (s) |\n");
        s.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        row(s, r.baseline());
        r.uniform().forEach(u -> row(s, u));
        for (ReportRunner.MethodResult m : r.methods()) {
            row(s, m.kmeans());
            row(s, m.budgetSameSize());
        }
        s.append("\n## Sensitivity by segment (the paper's Table 1)\n\n");
        s.append("| method | first 30 % mean ± std | middle 30 % mean ± std | rest mean ± std |\n|---|---|---|---|\n");
        for (ReportRunner.MethodResult m : r.methods()) {
            SegmentStats t = m.segments();
            s.append("| ").append(m.profile().method()).append(" | ").append(seg(t.first())).append(" | ")
                    .append(seg(t.middle())).append(" | ").append(seg(t.rest())).append(" |\n");
        }
        if (!r.methods().isEmpty()) {
            s.append("\n## Sensitivity per layer\n\n| unit |");
            r.methods().forEach(m -> s.append(' ').append(m.profile().method()).append(" |"));
            s.append("\n|---|");
            r.methods().forEach(m -> s.append("---:|"));
            s.append('\n');
            List<String> units = r.methods().getFirst().profile().units();
            for (int u = 0; u < units.size(); u++) {
                s.append("| ").append(units.get(u)).append(" |");
                for (ReportRunner.MethodResult m : r.methods()) {
                    s.append(String.format(Locale.ROOT, " %.5g |", m.profile().sensitivity()[u]));
                }
                s.append('\n');
            }
            s.append('\n');
            r.methods().forEach(m -> s.append("![").append(m.profile().method()).append("](sensitivity_")
                    .append(m.profile().method().name().toLowerCase(Locale.ROOT)).append(".png)\n"));
        }
        if (!r.pareto().isEmpty()) {
            s.append("\n## Size vs ").append(r.metric()).append(" (budgeted plans, ").append(r.settings().paretoMethod())
                    .append(" predictor)\n\n| target | bits per block | size (MB) | CR vs FP32 | ").append(r.metric())
                    .append(" | ").append(r.damage()).append(" |\n|---|---|---:|---:|---:|---:|\n");
            for (ReportRunner.Row p : r.pareto()) {
                s.append(String.format(Locale.ROOT, "| %s | %s | %.2f | %.2f | %.4f | %+.4f |%n", p.name(), bits(p),
                        p.bytes() / 1e6, p.crVsFp32(), p.metric(), p.damage()));
            }
            s.append("\n![pareto](pareto.png)\n");
        }
        return s.toString();
    }

    private static void row(StringBuilder s, ReportRunner.Row r) {
        s.append(String.format(Locale.ROOT, "| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.4f | %+.4f | %.1f |%n",
                r.name(), r.allocation(), bits(r), r.bytes() / 1e6, r.crVsFp32(), r.crVsFp16(), r.averageBits(),
                r.metric(), r.damage(), r.seconds()));
    }

    /** Bits in unit order, compactly: "16 8 4 4" (or counts when there are many units). */
    private static String bits(ReportRunner.Row r) {
        if (r.bits().isEmpty()) return "32";
        if (r.bits().size() <= 24) return String.join(" ", r.bits().values().stream().map(String::valueOf).toList());
        long n16 = r.bits().values().stream().filter(b -> b == 16).count();
        long n8 = r.bits().values().stream().filter(b -> b == 8).count();
        long n4 = r.bits().values().stream().filter(b -> b == 4).count();
        return n16 + "×16, " + n8 + "×8, " + n4 + "×4";
    }

    private static String seg(SegmentStats.Segment g) {
        return String.format(Locale.ROOT, "%.4g ± %.4g (layers %d–%d)", g.mean(), g.std(), g.from(), g.to() - 1);
    }
}
