package cptquant.report;

import cptquant.allocate.BitPlan;
import cptquant.allocate.Budget;
import cptquant.allocate.Planner;
import cptquant.model.TransformerModel;
import cptquant.quant.ModelQuantizer;
import cptquant.quant.QuantSpec;
import cptquant.quant.SizeReport;
import cptquant.sensitivity.Method;
import cptquant.sensitivity.Profile;
import cptquant.sensitivity.Sensitivity;
import cptquant.task.Task;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The paper's experiment on one model and task: the FP32 baseline, uniform FP16/INT8/INT4, and for each
 * sensitivity method its profile, the k-means plan (16/8/4) and a budgeted plan of the same size, each
 * quantized, evaluated and rolled back; then a size/quality curve of budgeted plans over a range of
 * average bit widths.
 */
public final class ReportRunner {

    /**
     * @param methods     sensitivity methods to run, in order
     * @param groupSize   integer quantization group size (0 = per output channel, the paper's setting)
     * @param paretoBits  average bit widths of the budgeted curve (empty = none)
     * @param paretoMethod whose predicted losses drive the curve
     */
    public record Settings(List<Method> methods, Sensitivity.Options sensitivity, int cmpqDims, int groupSize,
                           double[] paretoBits, Method paretoMethod) {}

    /** One evaluated configuration: a plan, its size and its metric. */
    public record Row(String name, String allocation, Map<String, Integer> bits, long bytes, double crVsFp32,
                      double crVsFp16, double averageBits, double metric, double damage, double seconds) {}

    /** A method's sensitivity profile with its Table 1 statistics and evaluated plans. */
    public record MethodResult(Profile profile, SegmentStats segments, Row kmeans, Row budgetSameSize) {}

    /** Everything the report shows. */
    public record Result(String model, String task, String metric, String damage, String data, Settings settings,
                         Row baseline, List<Row> uniform, List<MethodResult> methods, List<Row> pareto) {}

    private final TransformerModel model;
    private final Task task;
    private final Settings settings;
    private final Consumer<String> log;
    private final Planner planner;

    public ReportRunner(TransformerModel model, Task task, Settings settings, Consumer<String> log) {
        this.model = model;
        this.planner = new Planner(model, settings.groupSize());
        this.task = task;
        this.settings = settings;
        this.log = log;
    }

    /** Runs every step; the model is left as it was loaded. */
    public Result run(String modelName) {
        log.accept("baseline FP32 evaluation (" + task.metricName() + ")");
        long t0 = System.nanoTime();
        double base = task.evaluate();
        Row baseline = row("fp32", "none", Map.of(), base, base, seconds(t0), 4);
        log.accept(String.format("baseline %s = %.4f", task.metricName(), base));

        List<Row> uniform = new ArrayList<>();
        for (int bits : new int[] {16, 8, 4}) {
            QuantSpec spec = QuantSpec.of(bits, settings.groupSize());
            uniform.add(evaluatePlan("uniform " + spec.label(), "uniform", planner.uniform(spec), base, 0));
        }

        List<MethodResult> methods = new ArrayList<>();
        Map<Method, Profile> profiles = new LinkedHashMap<>();
        for (Method m : settings.methods()) {
            log.accept("sensitivity: " + m);
            Profile p = measure(m);
            profiles.put(m, p);
            Row km = evaluatePlan(m.name(), "k-means 16/8/4", planner.clusters(p), base, p.seconds());
            BitPlan same = planner.budgetTotal(p, km.bytes());
            Row bud = evaluatePlan(m.name() + " budget", "knapsack at k-means size", same, base, p.seconds());
            methods.add(new MethodResult(p, SegmentStats.of(p.sensitivity()), km, bud));
        }

        List<Row> pareto = new ArrayList<>();
        if (settings.paretoBits().length > 0) {
            Profile p = profiles.containsKey(settings.paretoMethod()) ? profiles.get(settings.paretoMethod())
                    : measure(settings.paretoMethod());
            for (double b : settings.paretoBits()) {
                BitPlan plan = planner.budget(p, new Budget.AverageBits(b));
                pareto.add(evaluatePlan(String.format("%s avg %.1f bits", p.method(), b), "knapsack", plan, base, 0));
            }
        }
        return new Result(modelName, task.name(), task.metricName(), task.damageName(), task.describeData(), settings,
                baseline, uniform, methods, pareto);
    }

    private Profile measure(Method m) {
        return Sensitivity.profile(m, model, task.calibration(), settings.sensitivity(), settings.cmpqDims(),
                (done, total, unit) -> log.accept(String.format("  %s trial %d/%d (%s)", m, done, total, unit)));
    }

    private Row evaluatePlan(String name, String allocation, BitPlan plan, double base, double extraSeconds) {
        long t0 = System.nanoTime();
        ModelQuantizer.Undo undo = ModelQuantizer.apply(model, plan.units());
        try {
            double metric = task.evaluate();
            Row r = row(name, allocation, Planner.bitsOf(plan), base, metric, seconds(t0) + extraSeconds, 2);
            log.accept(String.format("%-28s CR %.2fx  %s %.4f  %s %+.4f", name, r.crVsFp32(), task.metricName(),
                    metric, task.damageName(), r.damage()));
            return r;
        } finally {
            undo.restore();
        }
    }

    /** @param otherBytes bytes per non-quantized parameter: 4 for the FP32 baseline, 2 (FP16) for plans */
    private Row row(String name, String allocation, Map<String, Integer> bits, double base, double metric, double seconds,
                    int otherBytes) {
        SizeReport size = SizeReport.of(model, otherBytes);
        return new Row(name, allocation, bits, size.totalBytes(), size.crVsFp32(), size.crVsFp16(),
                Planner.averageBits(model), metric, task.damage(base, metric), seconds);
    }

    private static double seconds(long t0) { return (System.nanoTime() - t0) / 1e9; }
}
