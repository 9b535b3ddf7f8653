package cptquant.sensitivity;

import java.util.List;
import java.util.Map;

/**
 * The result of one sensitivity method: one number per unit (higher = more sensitive) plus the raw
 * measurements it came from, keyed by what they are (e.g. "sparsity_0.3", "rho_mean", "loss_int4").
 */
public record Profile(Method method, Unit.Granularity granularity, List<String> units, double[] sensitivity,
                      Map<String, double[]> raw, double baselineLoss, double baselineMetric, double seconds) {
    public Profile {
        units = List.copyOf(units);
        if (sensitivity.length != units.size()) {
            throw new IllegalArgumentException(sensitivity.length + " sensitivities for " + units.size() + " units");
        }
        raw = Map.copyOf(raw);
    }
}
