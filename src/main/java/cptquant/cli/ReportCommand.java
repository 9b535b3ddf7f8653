package cptquant.cli;

import cptquant.model.LoadedModel;
import cptquant.report.ReportRunner;
import cptquant.report.ReportWriter;
import cptquant.sensitivity.Method;
import cptquant.task.Task;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code cptquant report}: the paper's experiment end to end, written as markdown, JSON and PNGs. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Run CMPQ, PMPQ and TDMPQ plus uniform FP16/INT8/INT4 baselines and write report.md, report.json and plots.")
final class ReportCommand implements Callable<Integer> {
    @Mixin TaskOptions task;
    @Mixin SensitivityOptions sens;

    @Option(names = "--methods", split = ",", defaultValue = "cmpq,pmpq,tdmpq", description = "methods to compare (default ${DEFAULT-VALUE})")
    List<String> methods;

    @Option(names = "--pareto-bits", split = ",", defaultValue = "4.5,5,6,7,8,10,12",
            description = "average bit widths of the budgeted size/quality curve (default ${DEFAULT-VALUE}); empty = none")
    double[] paretoBits;

    @Option(names = "--pareto-method", defaultValue = "direct", description = "sensitivity whose predicted losses drive the curve (default ${DEFAULT-VALUE})")
    String paretoMethod;

    @Option(names = "--quick", description = "small calibration and evaluation sets and a coarse curve, for a first look")
    boolean quick;

    @Option(names = "--out", description = "output directory (default: report-<model>-<task>)")
    Path out;

    @Override
    public Integer call() {
        if (quick) {
            task.calibSamples = Math.min(task.calibSamples, 32);
            task.calibSeqlen = Math.min(task.calibSeqlen, 128);
            if (task.limit == null) task.limit = task.task.equals("imdb") ? 500 : 16;
            paretoBits = new double[] {4.5, 6, 8, 12};
        }
        List<Method> ms = new ArrayList<>();
        for (String m : methods) ms.add(SensitivityOptions.method(m));
        TaskOptions.Loaded loaded = task.load();
        LoadedModel lm = loaded.model();
        Task t = loaded.task();
        Path dir = out != null ? out : Path.of("report-" + Path.of(lm.name()).getFileName() + "-" + t.name());
        var settings = new ReportRunner.Settings(ms, sens.options(task.seed), sens.ccaDims, sens.groupSize, paretoBits,
                SensitivityOptions.method(paretoMethod));
        System.err.println("data: " + t.describeData());
        ReportRunner.Result r = new ReportRunner(lm.model(), t, settings, System.err::println).run(lm.name());
        System.out.println(ReportWriter.write(r, dir));
        System.err.println("wrote " + dir.resolve("report.md") + ", report.json and plots");
        return 0;
    }
}
