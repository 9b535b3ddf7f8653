package cptquant.cli;

import cptquant.model.TransformerModel;
import cptquant.sensitivity.Method;
import cptquant.sensitivity.Profile;
import cptquant.sensitivity.Sensitivity;
import cptquant.sensitivity.Unit;
import cptquant.task.Task;
import picocli.CommandLine.Option;

import java.util.Locale;

/** Settings of the sensitivity methods (picocli mixin). */
final class SensitivityOptions {
    @Option(names = "--granularity", defaultValue = "block", description = "block (the paper's unit) or module")
    String granularity;

    @Option(names = "--sparsities", split = ",", defaultValue = "0.1,0.3,0.5", description = "PMPQ pruning levels (default ${DEFAULT-VALUE})")
    double[] sparsities;

    @Option(names = "--alpha", defaultValue = "0.01", description = "TDMPQ noise scale relative to std(W) (default ${DEFAULT-VALUE})")
    double alpha;

    @Option(names = "--first-linear-only", description = "TDMPQ perturbs only each unit's first linear, as the paper's code does")
    boolean firstLinearOnly;

    @Option(names = "--group-size", defaultValue = "0", description = "integer quantization group size, 0 = per output channel (default ${DEFAULT-VALUE})")
    int groupSize;

    @Option(names = "--cca-dims", defaultValue = "64", description = "CMPQ projects hidden states to at most this many dimensions (default ${DEFAULT-VALUE})")
    int ccaDims;

    static Method method(String name) {
        try {
            return Method.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--method must be cmpq, pmpq, tdmpq or direct, got '" + name + "'");
        }
    }

    Sensitivity.Options options(long seed) {
        Unit.Granularity g = switch (granularity.toLowerCase(Locale.ROOT)) {
            case "block" -> Unit.Granularity.BLOCK;
            case "module" -> Unit.Granularity.MODULE;
            default -> throw new IllegalArgumentException("--granularity must be block or module, got '" + granularity + "'");
        };
        for (double s : sparsities) {
            if (!(s > 0 && s < 1)) throw new IllegalArgumentException("--sparsities must lie in (0, 1), got " + s);
        }
        if (!(alpha > 0)) throw new IllegalArgumentException("--alpha must be > 0, got " + alpha);
        if (groupSize < 0) throw new IllegalArgumentException("--group-size must be >= 0, got " + groupSize);
        return new Sensitivity.Options(g, sparsities, alpha, firstLinearOnly, seed, groupSize);
    }

    /** Runs {@code m} with a progress bar over its trials. */
    Profile measure(Method m, TransformerModel model, Task task, long seed) {
        Sensitivity.Options o = options(seed);
        if (m == Method.CMPQ) return Sensitivity.profile(m, model, task.calibration(), o, ccaDims, Sensitivity.Listener.NONE);
        int trials = Sensitivity.trials(m, Unit.of(model, o.granularity()).size(), o);
        try (var bar = cptquant.progress.Progress.bar(m + " trials", trials)) {
            return Sensitivity.profile(m, model, task.calibration(), o, ccaDims, (done, total, unit) -> bar.update(done, 0));
        }
    }
}
