package cptquant.bench;

import java.util.Arrays;

/** Median wall time of repeated runs after warm-up: robust to the odd slow run on a shared machine. */
public final class Timing {
    private Timing() {}

    /** An action that may throw, timed as a whole. */
    @FunctionalInterface
    public interface Action {
        void run() throws Exception;
    }

    /** Median milliseconds of {@code reps} timed runs after {@code warmup} untimed ones. */
    public static double medianMillis(int warmup, int reps, Action action) {
        return median(millis(warmup, reps, action));
    }

    /**
     * Fastest of {@code reps} timed runs after {@code warmup} untimed ones, as STREAM reports bandwidth: a
     * machine's capability, which only interference can lower.
     */
    public static double bestMillis(int warmup, int reps, Action action) {
        return Arrays.stream(millis(warmup, reps, action)).min().orElseThrow();
    }

    private static double[] millis(int warmup, int reps, Action action) {
        try {
            for (int i = 0; i < warmup; i++) action.run();
            double[] ms = new double[reps];
            for (int i = 0; i < reps; i++) {
                long t0 = System.nanoTime();
                action.run();
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            return ms;
        } catch (Exception e) {
            throw new IllegalStateException("benchmark run failed: " + e.getMessage(), e);
        }
    }

    /** The median of {@code values} (sorted in place); the mean of the middle two for an even count. */
    public static double median(double[] values) {
        Arrays.sort(values);
        int n = values.length;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }
}
