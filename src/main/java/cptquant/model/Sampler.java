package cptquant.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Picks the next token from a position's logits. */
public sealed interface Sampler {

    /** The chosen token id; {@code logits} is not modified. */
    int pick(float[] logits);

    /** The most likely token (the first of equals): deterministic decoding. */
    static Sampler greedy() { return new Greedy(); }

    /**
     * Sampling at {@code temperature} (0 means greedy) from the smallest set of most likely tokens whose
     * probability reaches {@code topP} (1 or more: the whole vocabulary), reproducible from {@code seed}.
     */
    static Sampler of(float temperature, float topP, long seed) {
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (!(topP > 0)) throw new IllegalArgumentException("top-p must be > 0, got " + topP);
        return temperature == 0 ? greedy() : new Nucleus(temperature, topP, seed);
    }

    /** Argmax decoding. */
    record Greedy() implements Sampler {
        @Override
        public int pick(float[] logits) {
            int best = 0;
            for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }
    }

    /** Temperature and top-p (nucleus) sampling; holds its random stream, so one per generation. */
    final class Nucleus implements Sampler {
        private final float temperature;
        private final float topP;
        private final SplittableRandom random;

        private Nucleus(float temperature, float topP, long seed) {
            this.temperature = temperature;
            this.topP = topP;
            this.random = new SplittableRandom(seed);
        }

        @Override
        public int pick(float[] logits) {
            int n = logits.length;
            double max = Double.NEGATIVE_INFINITY;
            for (float l : logits) max = Math.max(max, l / temperature);
            double[] p = new double[n];
            double sum = 0;
            for (int i = 0; i < n; i++) { p[i] = Math.exp(logits[i] / temperature - max); sum += p[i]; }
            for (int i = 0; i < n; i++) p[i] /= sum;
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
            // The nucleus: most likely tokens until their mass reaches topP (always at least one).
            int kept = 0;
            double mass = 0;
            while (kept < n && (kept == 0 || mass < topP)) mass += p[order[kept++]];
            double r = random.nextDouble() * mass;
            for (int i = 0; i < kept; i++) {
                r -= p[order[i]];
                if (r < 0) return order[i];
            }
            return order[kept - 1];
        }
    }
}
