package cptquant.sensitivity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.tensor.Linear;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class SensitivityTest {
    static final double[] SCALES = {0.2, 1.5, 0.05, 0.6};
    /** Blocks ordered from least to most important, by construction. */
    static final int[] EXPECTED_ORDER = {2, 0, 3, 1};

    static int[] ascendingOrder(double[] v) {
        return IntStream.range(0, v.length).boxed().sorted((a, b) -> Double.compare(v[a], v[b])).mapToInt(i -> i).toArray();
    }

    @ParameterizedTest
    @EnumSource(value = Method.class, names = {"PMPQ", "TDMPQ", "DIRECT"})
    void blocksThatMatterMoreRankAsMoreSensitive(Method method) {
        ToyModel model = new ToyModel(64, SCALES, 11);
        Objective objective = model.objective(48, 12);
        Sensitivity.Options o = new Sensitivity.Options(Unit.Granularity.BLOCK, new double[] {0.1, 0.3, 0.5},
                0.05, false, 99, 0);
        Profile p = Sensitivity.measure(method, model, objective, o, Sensitivity.Listener.NONE);
        assertEquals(List.of("layers.0", "layers.1", "layers.2", "layers.3"), p.units());
        assertArrayEquals(EXPECTED_ORDER, ascendingOrder(p.sensitivity()), method + " " + java.util.Arrays.toString(p.sensitivity()));
    }

    @Test
    void cmpqRanksBlocksThatChangeTheirInputMoreAsMoreSensitive() {
        // A block h + s*tanh(Wh) is an invertible linear map plus a nonlinear part growing with s; CCA sees
        // through the linear part, so the input-output correlation falls as s grows.
        ToyModel model = new ToyModel(16, SCALES, 11);
        Profile p = Cmpq.measure(model, model.objective(2000, 12), Unit.Granularity.BLOCK, 64, 7);
        assertArrayEquals(EXPECTED_ORDER, ascendingOrder(p.sensitivity()), java.util.Arrays.toString(p.sensitivity()));
        for (double rho : p.raw().get("rho_mean")) assertTrue(rho > 0 && rho < 1, "rho " + rho);
        Profile modules = Cmpq.measure(model, model.objective(2000, 12), Unit.Granularity.MODULE, 64, 7);
        assertArrayEquals(p.sensitivity(), modules.sensitivity(), 1e-12);
    }

    @Test
    void trialsRestoreEveryWeight() {
        ToyModel model = new ToyModel(32, SCALES, 3);
        List<float[]> before = new ArrayList<>();
        for (var b : model.blocks()) for (Linear l : b.linears()) before.add(l.weight().toFloat());
        Objective objective = model.objective(8, 4);
        double baseLoss = objective.evaluate().meanLoss();
        for (Method m : new Method[] {Method.PMPQ, Method.TDMPQ, Method.DIRECT}) {
            Sensitivity.measure(m, model, objective, Sensitivity.Options.defaults(), Sensitivity.Listener.NONE);
        }
        int i = 0;
        for (var b : model.blocks()) for (Linear l : b.linears()) assertArrayEquals(before.get(i++), l.weight().toFloat());
        assertEquals(baseLoss, objective.evaluate().meanLoss());
    }

    @Test
    void quantileInterpolatesLikeTorch() {
        float[] v = {4, 1, 3, 2};
        // Sorted 1,2,3,4: q=0.5 lies halfway between 2 and 3; q=1/3 exactly at 2.
        assertEquals(2.5, Sensitivity.quantile(v, 0.5), 1e-12);
        assertEquals(2.0, Sensitivity.quantile(v, 1.0 / 3), 1e-6);
        assertEquals(1.0, Sensitivity.quantile(v, 0), 0);
        assertEquals(4.0, Sensitivity.quantile(v, 1), 0);
    }

    @Test
    void pruningZeroesTheRequestedFraction() {
        ToyModel model = new ToyModel(40, new double[] {1}, 5);
        Unit unit = Unit.of(model, Unit.Granularity.BLOCK).get(0);
        float[] w = Sensitivity.pruned(unit, 0.3).get(0).toFloat();
        long zeros = IntStream.range(0, w.length).filter(i -> w[i] == 0).count();
        assertEquals(0.3 * w.length, zeros, 1.0);
    }
}
