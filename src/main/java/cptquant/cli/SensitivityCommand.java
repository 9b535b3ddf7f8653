package cptquant.cli;

import cptquant.model.LoadedModel;
import cptquant.report.Charts;
import cptquant.report.SegmentStats;
import cptquant.sensitivity.Method;
import cptquant.sensitivity.Profile;
import cptquant.task.Task;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code cptquant sensitivity}: one method's per-layer sensitivity profile. */
@Command(name = "sensitivity", mixinStandardHelpOptions = true,
        description = "Measure per-layer sensitivity with CMPQ, PMPQ, TDMPQ or DIRECT on calibration data.")
final class SensitivityCommand implements Callable<Integer> {
    @Mixin TaskOptions task;
    @Mixin SensitivityOptions sens;

    @Option(names = "--method", required = true, description = "cmpq, pmpq, tdmpq or direct")
    String method;

    @Option(names = "--json", description = "write the profile as JSON")
    Path json;

    @Option(names = "--plot", description = "write a PNG bar chart of the profile")
    Path plot;

    @Override
    public Integer call() {
        Method m = SensitivityOptions.method(method);
        TaskOptions.Loaded loaded = task.load();
        LoadedModel lm = loaded.model();
        Task t = loaded.task();
        System.err.println("calibration: " + t.describeData());
        Profile p = sens.measure(m, lm.model(), t, task.seed);
        System.out.println(table(p));
        if (json != null) cptquant.io.JsonOut.write(json, p);
        if (plot != null) {
            Charts.sensitivityBars(plot, m + " sensitivity per layer (" + lm.name() + ", " + t.name() + ")", m.name(),
                    p.units(), p.sensitivity());
        }
        return 0;
    }

    /** Per-unit values and the paper's Table 1 segment statistics. */
    static String table(Profile p) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "%s sensitivity (%s granularity, %.1f s; baseline loss %.5f, metric %.5f)%n",
                p.method(), p.granularity().name().toLowerCase(Locale.ROOT), p.seconds(), p.baselineLoss(), p.baselineMetric()));
        for (int u = 0; u < p.units().size(); u++) {
            s.append(String.format(Locale.ROOT, "  %-36s %12.6g%n", p.units().get(u), p.sensitivity()[u]));
        }
        if (p.units().size() >= 3) {
            SegmentStats st = SegmentStats.of(p.sensitivity());
            for (SegmentStats.Segment g : new SegmentStats.Segment[] {st.first(), st.middle(), st.rest()}) {
                s.append(String.format(Locale.ROOT, "  units %d-%d: mean %.6g  std %.6g%n", g.from(), g.to() - 1, g.mean(), g.std()));
            }
        }
        return s.toString();
    }
}
