package cptquant.report;

import cptquant.allocate.BitPlan;
import cptquant.allocate.Budget;
import cptquant.allocate.Planner;
import cptquant.model.Block;
import cptquant.quant.ModelQuantizer;
import cptquant.quant.SizeReport;
import cptquant.sensitivity.Method;
import cptquant.sensitivity.Objective;
import cptquant.sensitivity.Profile;
import cptquant.sensitivity.Sensitivity;
import cptquant.sensitivity.ToyModel;
import cptquant.sensitivity.Unit;
import cptquant.task.Task;
import cptquant.tensor.Linear;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportRunnerTest {
    static final double[] SCALES = {0.2, 1.5, 0.05, 0.6, 0.3, 0.9};

    /** The toy regression as a task: calibration and evaluation on different seeded inputs. */
    record ToyTask(ToyModel model, Objective calib, Objective eval) implements Task {
        ToyTask(ToyModel model) { this(model, model.objective(64, 1), model.objective(64, 2)); }

        @Override public String name() { return "toy"; }
        @Override public String metricName() { return "neg_mse"; }
        @Override public String damageName() { return "mse_increase"; }
        @Override public Objective calibration() { return calib; }
        @Override public double evaluate() { return eval.evaluate().metric(); }
        @Override public double damage(double base, double value) { return base - value; }
        @Override public String describeData() { return "seeded gaussian inputs"; }
    }

    @Test
    void budgetedPlansRespectTheirBudgetAndHitTheUniformEnds() {
        ToyModel model = new ToyModel(64, SCALES, 5);
        Profile direct = Sensitivity.measure(Method.DIRECT, model, new ToyTask(model).calibration(),
                Sensitivity.Options.defaults(), Sensitivity.Listener.NONE);
        Planner planner = new Planner(model, 0);
        assertTrue(Planner.bitsOf(planner.budget(direct, new Budget.AverageBits(16))).values().stream().allMatch(b -> b == 16));
        assertTrue(Planner.bitsOf(planner.budget(direct, new Budget.AverageBits(4))).values().stream().allMatch(b -> b == 4));

        BitPlan kmeans = planner.clusters(direct);
        long kmBytes = sizeWith(model, kmeans);
        BitPlan same = planner.budgetTotal(direct, kmBytes);
        assertTrue(sizeWith(model, same) <= kmBytes);
        // The most important block (scale 1.5) never gets fewer bits than the least important (0.05).
        var bits = Planner.bitsOf(same);
        assertTrue(bits.get("layers.1") >= bits.get("layers.2"), bits.toString());
    }

    private static long sizeWith(ToyModel model, BitPlan plan) {
        ModelQuantizer.Undo undo = ModelQuantizer.apply(model, plan.units());
        try {
            return SizeReport.of(model, 2).totalBytes();
        } finally {
            undo.restore();
        }
    }

    @Test
    void reportRunsEveryConfigurationRestoresTheModelAndWritesItsFiles(@TempDir Path dir) throws Exception {
        ToyModel model = new ToyModel(64, SCALES, 5);
        List<float[]> before = weights(model);
        var settings = new ReportRunner.Settings(List.of(Method.CMPQ, Method.PMPQ, Method.TDMPQ),
                Sensitivity.Options.defaults(), 64, 0, new double[] {4.5, 8, 16}, Method.DIRECT);
        ReportRunner.Result r = new ReportRunner(model, new ToyTask(model), settings, s -> {}).run("toy");

        assertEquals(3, r.uniform().size());
        double f16 = r.uniform().get(0).damage(), int8 = r.uniform().get(1).damage(), int4 = r.uniform().get(2).damage();
        assertTrue(Math.abs(f16) < int8 && int8 < int4, f16 + " " + int8 + " " + int4);
        assertEquals(1.0, r.baseline().crVsFp32(), 1e-12);
        for (ReportRunner.MethodResult m : r.methods()) {
            assertTrue(m.budgetSameSize().bytes() <= m.kmeans().bytes(), m.profile().method().name());
            assertEquals(SCALES.length, m.kmeans().bits().size());
        }
        for (int i = 1; i < r.pareto().size(); i++) assertTrue(r.pareto().get(i).bytes() >= r.pareto().get(i - 1).bytes());
        List<float[]> after = weights(model);
        for (int i = 0; i < before.size(); i++) assertArrayEquals(before.get(i), after.get(i));

        String md = ReportWriter.write(r, dir);
        assertTrue(md.contains("| uniform int4 |") && md.contains("Table 1") && md.contains("Table 2"), md);
        for (String f : List.of("report.md", "report.json", "sensitivity_cmpq.png", "sensitivity_pmpq.png",
                "sensitivity_tdmpq.png", "pareto.png")) {
            assertTrue(Files.size(dir.resolve(f)) > 0, f);
        }
        assertTrue(Files.readString(dir.resolve("report.json")).contains("\"budgetSameSize\""));
    }

    private static List<float[]> weights(ToyModel model) {
        List<float[]> w = new ArrayList<>();
        for (Block b : model.blocks()) for (Linear l : b.linears()) w.add(l.weight().toFloat());
        return w;
    }
}
