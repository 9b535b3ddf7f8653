package cptquant.quant;

import cptquant.tensor.Linear;
import cptquant.tensor.Weight;
import java.util.List;

/**
 * What storing a set of linears as one spec costs: exact stored bytes, and the relative squared
 * quantization error ||Q(W) - W||^2 / ||W||^2 that allocation uses to predict a loss increase from a
 * sensitivity score (a larger error on a more sensitive unit costs more, as in HAWQ's Omega).
 */
public record QuantCost(QuantSpec spec, long bytes, double relativeError) {

    /** Quantizes each linear (without changing the model) and measures the cost. */
    public static QuantCost of(List<Linear> linears, QuantSpec spec) {
        long bytes = 0;
        double err = 0, norm = 0;
        for (Linear l : linears) {
            float[] w = l.weight().toFloat();
            Weight q = Quantizer.quantize(l.weight(), spec);
            float[] back = q.toFloat();
            bytes += q.storageBytes();
            for (int i = 0; i < w.length; i++) {
                double d = back[i] - w[i];
                err += d * d;
                norm += (double) w[i] * w[i];
            }
        }
        return new QuantCost(spec, bytes, norm == 0 ? 0 : err / norm);
    }
}
