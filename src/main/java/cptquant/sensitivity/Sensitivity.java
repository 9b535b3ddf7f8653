package cptquant.sensitivity;

import cptquant.model.TransformerModel;
import cptquant.quant.ModelQuantizer;
import cptquant.quant.QuantSpec;
import cptquant.quant.Quantizer;
import cptquant.tensor.DenseWeight;
import cptquant.tensor.Linear;
import cptquant.tensor.Weight;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Per-unit sensitivity by PMPQ, TDMPQ and DIRECT: change one unit, re-evaluate the calibration objective,
 * restore the unit. (CMPQ needs no trials; see {@link Cmpq}.) Every trial restores the original weights.
 */
public final class Sensitivity {
    private Sensitivity() {}

    /** Receives progress after every trial. */
    @FunctionalInterface
    public interface Listener {
        void trialDone(int done, int total, String unit);

        Listener NONE = (d, t, u) -> {};
    }

    /**
     * Settings of the trial-based methods.
     *
     * @param sparsities     PMPQ pruning levels (fraction of weights zeroed in each linear)
     * @param alpha          TDMPQ noise scale, relative to each weight matrix's standard deviation
     * @param firstLinearOnly TDMPQ perturbs only the unit's first linear, as the paper's code does
     * @param seed           TDMPQ noise seed (each unit draws from seed + unit index)
     * @param groupSize      DIRECT quantization group size (0 = per channel)
     */
    public record Options(Unit.Granularity granularity, double[] sparsities, double alpha, boolean firstLinearOnly,
                          long seed, int groupSize) {
        public static Options defaults() {
            return new Options(Unit.Granularity.BLOCK, new double[] {0.1, 0.3, 0.5}, 0.01, false, 1234, 0);
        }
    }

    /** Any method's profile: CMPQ by {@link Cmpq} (projecting to at most {@code ccaDims}), the others by trials. */
    public static Profile profile(Method method, TransformerModel model, Objective objective, Options o, int ccaDims,
                                  Listener listener) {
        if (method == Method.CMPQ) return Cmpq.measure(model, objective, o.granularity(), ccaDims, o.seed());
        return measure(method, model, objective, o, listener);
    }

    /** Runs {@code method} (PMPQ, TDMPQ or DIRECT) over every unit of {@code model}. */
    public static Profile measure(Method method, TransformerModel model, Objective objective, Options o, Listener listener) {
        long t0 = System.nanoTime();
        List<Unit> units = Unit.of(model, o.granularity());
        Objective.Result base = objective.evaluate();
        int total = trials(method, units.size(), o), done = 0;
        double[] sens = new double[units.size()];
        Map<String, double[]> raw = new LinkedHashMap<>();
        for (int u = 0; u < units.size(); u++) {
            Unit unit = units.get(u);
            switch (method) {
                case PMPQ -> {
                    double sum = 0;
                    for (double s : o.sparsities()) {
                        Objective.Result r = withWeights(unit, pruned(unit, s), objective);
                        double drop = base.metric() - r.metric();
                        raw.computeIfAbsent("metric_drop_sparsity_" + s, k -> new double[units.size()])[u] = drop;
                        sum += drop;
                        listener.trialDone(++done, total, unit.name());
                    }
                    sens[u] = sum / o.sparsities().length;
                }
                case TDMPQ -> {
                    Objective.Result r = withWeights(unit, noisy(unit, o.alpha(), o.firstLinearOnly(), o.seed() + u), objective);
                    double tv = 0, signed = 0;
                    for (int i = 0; i < base.losses().length; i++) {
                        double d = r.losses()[i] - base.losses()[i];
                        tv += Math.abs(d);
                        signed += d;
                    }
                    int n = base.losses().length;
                    sens[u] = tv / n;
                    raw.computeIfAbsent("mean_loss_change", k -> new double[units.size()])[u] = signed / n;
                    listener.trialDone(++done, total, unit.name());
                }
                case DIRECT -> {
                    for (int bits : new int[] {8, 4}) {
                        Objective.Result r = withWeights(unit, quantized(unit, bits, o.groupSize()), objective);
                        double inc = r.meanLoss() - base.meanLoss();
                        raw.computeIfAbsent("loss_increase_int" + bits, k -> new double[units.size()])[u] = inc;
                        if (bits == 4) sens[u] = inc;
                        listener.trialDone(++done, total, unit.name());
                    }
                }
                default -> throw new IllegalStateException();
            }
        }
        return new Profile(method, o.granularity(), units.stream().map(Unit::name).toList(), sens, raw,
                base.meanLoss(), base.metric(), (System.nanoTime() - t0) / 1e9);
    }

    /** Number of objective evaluations {@code method} makes over {@code units} units (after the baseline). */
    public static int trials(Method method, int units, Options o) {
        return units * switch (method) {
            case PMPQ -> o.sparsities().length;
            case TDMPQ -> 1;
            case DIRECT -> 2;
            case CMPQ -> throw new IllegalArgumentException("CMPQ is measured by Cmpq, not by trials");
        };
    }

    /** Evaluates the objective with the unit's linears temporarily holding {@code weights}. */
    static Objective.Result withWeights(Unit unit, List<Weight> weights, Objective objective) {
        Map<Linear, Weight> originals = new HashMap<>();
        for (int i = 0; i < unit.linears().size(); i++) {
            Linear l = unit.linears().get(i);
            originals.put(l, l.weight());
            l.setWeight(weights.get(i));
        }
        try {
            return objective.evaluate();
        } finally {
            new ModelQuantizer.Undo(originals).restore();
        }
    }

    /** Each linear with weights of |w| <= quantile(|w|, sparsity) set to zero. */
    static List<Weight> pruned(Unit unit, double sparsity) {
        List<Weight> out = new ArrayList<>();
        for (Linear l : unit.linears()) {
            float[] w = l.weight().toFloat();
            float[] abs = new float[w.length];
            for (int i = 0; i < w.length; i++) abs[i] = Math.abs(w[i]);
            double threshold = quantile(abs, sparsity);
            for (int i = 0; i < w.length; i++) if (Math.abs(w[i]) <= threshold) w[i] = 0;
            out.add(DenseWeight.ofFloats(w, l.out(), l.in()));
        }
        return out;
    }

    /** The q-quantile of values with linear interpolation between order statistics (torch.quantile's default). */
    static double quantile(float[] values, double q) {
        float[] s = values.clone();
        Arrays.sort(s);
        double pos = q * (s.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, s.length - 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
    }

    /** Each linear (or only the first) plus N(0, (alpha * std(W))^2) noise. */
    static List<Weight> noisy(Unit unit, double alpha, boolean firstOnly, long seed) {
        Random rng = new Random(seed);
        List<Weight> out = new ArrayList<>();
        for (int i = 0; i < unit.linears().size(); i++) {
            Linear l = unit.linears().get(i);
            if (firstOnly && i > 0) {
                out.add(l.weight());
                continue;
            }
            float[] w = l.weight().toFloat();
            double mean = 0, sq = 0;
            for (float v : w) mean += v;
            mean /= w.length;
            for (float v : w) sq += (v - mean) * (v - mean);
            double sigma = alpha * Math.sqrt(sq / w.length);
            for (int j = 0; j < w.length; j++) w[j] += (float) (rng.nextGaussian() * sigma);
            out.add(DenseWeight.ofFloats(w, l.out(), l.in()));
        }
        return out;
    }

    static List<Weight> quantized(Unit unit, int bits, int groupSize) {
        List<Weight> out = new ArrayList<>();
        for (Linear l : unit.linears()) out.add(Quantizer.quantize(l.weight(), QuantSpec.of(bits, groupSize)));
        return out;
    }
}
