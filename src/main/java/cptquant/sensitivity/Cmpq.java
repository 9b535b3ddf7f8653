package cptquant.sensitivity;

import cptquant.model.TransformerModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CMPQ: one pass of the calibration set through the model; for each block, the canonical correlations
 * between the hidden states it receives and those it emits (tokens x hidden, padded rows skipped).
 * Sensitivity is 1 - mean canonical correlation: a block that changes its input a lot is sensitive.
 *
 * <p>To stay fast on two cores, every calibration token is used but both sides are first projected to at
 * most {@code maxDims} dimensions by a fixed seeded Gaussian projection (see {@link Cca.Accumulator});
 * covariances are accumulated incrementally, so memory does not grow with the number of tokens. With
 * module granularity every module of a block gets its block's value, since CMPQ is defined on block
 * inputs and outputs.
 */
public final class Cmpq {
    private Cmpq() {}

    /** Measures every unit of {@code model} on the calibration set behind {@code objective}. */
    public static Profile measure(TransformerModel model, Objective objective, Unit.Granularity granularity,
                                  int maxDims, long seed) {
        long t0 = System.nanoTime();
        int nBlocks = model.blocks().size();
        List<Cca.Accumulator> acc = new ArrayList<>();
        for (int b = 0; b < nBlocks; b++) acc.add(null);
        Objective.Result base = objective.evaluate((block, in, out, rows, dim, valid) -> {
            Cca.Accumulator a = acc.get(block);
            if (a == null) {
                a = new Cca.Accumulator(dim, dim, maxDims, seed + block);
                acc.set(block, a);
            }
            a.add(in, out, rows, dim, valid);
        });
        double[] rho = new double[nBlocks];
        for (int b = 0; b < nBlocks; b++) {
            if (acc.get(b) == null) throw new IllegalStateException("model did not report block " + b);
            rho[b] = acc.get(b).result().mean();
        }
        List<Unit> units = Unit.of(model, granularity);
        double[] sens = new double[units.size()];
        double[] rhoPerUnit = new double[units.size()];
        for (int u = 0; u < units.size(); u++) {
            rhoPerUnit[u] = rho[units.get(u).block()];
            sens[u] = 1 - rhoPerUnit[u];
        }
        Map<String, double[]> raw = new LinkedHashMap<>();
        raw.put("rho_mean", rhoPerUnit);
        return new Profile(Method.CMPQ, granularity, units.stream().map(Unit::name).toList(), sens, raw,
                base.meanLoss(), base.metric(), (System.nanoTime() - t0) / 1e9);
    }
}
