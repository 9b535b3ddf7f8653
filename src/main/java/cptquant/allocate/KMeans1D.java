package cptquant.allocate;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * k-means on a line of numbers (sensitivities), two ways: the exact optimum by dynamic programming over
 * the sorted values, and Lloyd's algorithm from k-means++ seeds (seed 0, best of 10 restarts) as the
 * textbook method. Both are deterministic and both put equal values in the same cluster.
 *
 * <p>Both work on the distinct values weighted by how often they occur, so asking for more clusters than
 * there are distinct values simply yields one cluster per distinct value.
 */
public final class KMeans1D {
    private static final int RESTARTS = 10;
    private static final int MAX_ITERATIONS = 300;

    private KMeans1D() {}

    /**
     * A clustering: {@code labels[i]} is the cluster of input i, numbered 0..clusters-1 in ascending
     * order of center, and {@code inertia} is the summed squared distance of the values to their centers.
     */
    public record Result(int[] labels, double[] centers, double inertia) {
        public int clusters() { return centers.length; }
    }

    /** The globally optimal clustering (minimum inertia) into min(k, distinct values) clusters. */
    public static Result optimal(double[] values, int k) {
        Distinct d = Distinct.of(values, k);
        int n = d.values.length, m = Math.min(k, n);
        // cost[c][i]: least inertia of the first i distinct values in c clusters; cut[c][i]: where the last begins.
        double[][] cost = new double[m + 1][n + 1];
        int[][] cut = new int[m + 1][n + 1];
        for (double[] row : cost) Arrays.fill(row, Double.POSITIVE_INFINITY);
        cost[0][0] = 0;
        for (int c = 1; c <= m; c++) {
            for (int i = c; i <= n - (m - c); i++) {
                for (int j = c - 1; j < i; j++) {
                    double v = cost[c - 1][j] + d.segmentCost(j, i);
                    if (v < cost[c][i]) {
                        cost[c][i] = v;
                        cut[c][i] = j;
                    }
                }
            }
        }
        int[] clusterOfDistinct = new int[n];
        for (int c = m, end = n; c >= 1; end = cut[c][end], c--) {
            Arrays.fill(clusterOfDistinct, cut[c][end], end, c - 1);
        }
        return d.result(clusterOfDistinct, m);
    }

    /**
     * Lloyd's algorithm from k-means++ seeds drawn with {@code new Random(0)}, keeping the restart with
     * the least inertia out of 10. Usually, but not provably, the optimum; see {@link #optimal}.
     */
    public static Result lloyd(double[] values, int k) {
        Distinct d = Distinct.of(values, k);
        int m = Math.min(k, d.values.length);
        Random random = new Random(0);
        Result best = null;
        for (int r = 0; r < RESTARTS; r++) {
            Result res = d.result(d.lloydAssignment(d.plusPlusSeeds(m, random)), m);
            if (best == null || res.inertia() < best.inertia()) best = res;
        }
        return best;
    }

    /** The sorted distinct values with their multiplicities, and where each input went. */
    private record Distinct(double[] values, double[] weights, int[] indexOfInput, double[] prefixW,
                            double[] prefixWx, double[] prefixWxx) {

        static Distinct of(double[] input, int k) {
            if (k < 1) throw new IllegalArgumentException("k must be at least 1, got " + k);
            if (input.length == 0) throw new IllegalArgumentException("nothing to cluster");
            for (double v : input) {
                if (!Double.isFinite(v)) throw new IllegalArgumentException("cannot cluster non-finite value " + v);
            }
            double[] sorted = input.clone();
            Arrays.sort(sorted);
            double[] values = Arrays.stream(sorted).distinct().toArray();
            double[] weights = new double[values.length];
            int[] index = new int[input.length];
            for (int i = 0; i < input.length; i++) {
                index[i] = Arrays.binarySearch(values, input[i]);
                weights[index[i]]++;
            }
            // Prefix sums of values centred on their mean keep segment variances free of cancellation.
            double mean = Arrays.stream(input).average().orElseThrow();
            int n = values.length;
            double[] pw = new double[n + 1], pwx = new double[n + 1], pwxx = new double[n + 1];
            for (int i = 0; i < n; i++) {
                double x = values[i] - mean;
                pw[i + 1] = pw[i] + weights[i];
                pwx[i + 1] = pwx[i] + weights[i] * x;
                pwxx[i + 1] = pwxx[i] + weights[i] * x * x;
            }
            return new Distinct(values, weights, index, pw, pwx, pwxx);
        }

        /** Inertia of distinct values [from, to) as one cluster. */
        double segmentCost(int from, int to) {
            double w = prefixW[to] - prefixW[from], wx = prefixWx[to] - prefixWx[from];
            return Math.max(0, prefixWxx[to] - prefixWxx[from] - wx * wx / w);
        }

        /** k-means++: first center uniform over the inputs, then each with probability ∝ weighted D². */
        double[] plusPlusSeeds(int m, Random random) {
            int n = values.length;
            double[] centers = new double[m];
            double[] d2 = new double[n];
            centers[0] = values[pick(weights, random)];
            for (int c = 1; c < m; c++) {
                for (int i = 0; i < n; i++) {
                    double best = Double.POSITIVE_INFINITY;
                    for (int j = 0; j < c; j++) best = Math.min(best, sq(values[i] - centers[j]));
                    d2[i] = weights[i] * best;
                }
                centers[c] = values[pick(d2, random)];
            }
            return centers;
        }

        /** Index i with probability mass[i] / sum (mass is zero exactly at the existing centers). */
        private static int pick(double[] mass, Random random) {
            double total = 0;
            for (double v : mass) total += v;
            double u = random.nextDouble() * total;
            int last = 0;
            for (int i = 0; i < mass.length; i++) {
                if (mass[i] <= 0) continue;
                last = i;
                u -= mass[i];
                if (u < 0) return i;
            }
            return last;
        }

        /** Lloyd iterations to convergence; a cluster that empties is re-seeded at the worst-fit value. */
        int[] lloydAssignment(double[] centers) {
            int n = values.length, m = centers.length;
            int[] assign = new int[n];
            Arrays.fill(assign, -1);
            for (int it = 0; it < MAX_ITERATIONS; it++) {
                boolean changed = false;
                for (int i = 0; i < n; i++) {
                    int best = 0;
                    for (int c = 1; c < m; c++) {
                        if (sq(values[i] - centers[c]) < sq(values[i] - centers[best])) best = c;
                    }
                    if (best != assign[i]) {
                        assign[i] = best;
                        changed = true;
                    }
                }
                if (!changed) break;
                double[] sw = new double[m], swx = new double[m];
                for (int i = 0; i < n; i++) {
                    sw[assign[i]] += weights[i];
                    swx[assign[i]] += weights[i] * values[i];
                }
                for (int c = 0; c < m; c++) {
                    if (sw[c] > 0) {
                        centers[c] = swx[c] / sw[c];
                    } else {
                        int worst = 0;
                        for (int i = 1; i < n; i++) {
                            if (sq(values[i] - centers[assign[i]]) > sq(values[worst] - centers[assign[worst]])) worst = i;
                        }
                        centers[c] = values[worst];
                    }
                }
            }
            return assign;
        }

        /**
         * Labels the inputs with the non-empty clusters renumbered by ascending center, and measures the
         * inertia.
         */
        Result result(int[] clusterOfDistinct, int m) {
            double[] sw = new double[m], swx = new double[m];
            for (int i = 0; i < values.length; i++) {
                sw[clusterOfDistinct[i]] += weights[i];
                swx[clusterOfDistinct[i]] += weights[i] * values[i];
            }
            int[] order = IntStream.range(0, m).filter(c -> sw[c] > 0).boxed()
                    .sorted(Comparator.comparingDouble(c -> swx[c] / sw[c])).mapToInt(Integer::intValue).toArray();
            int[] rank = new int[m];
            double[] centers = new double[order.length];
            for (int r = 0; r < order.length; r++) {
                rank[order[r]] = r;
                centers[r] = swx[order[r]] / sw[order[r]];
            }
            double inertia = 0;
            for (int i = 0; i < values.length; i++) {
                inertia += weights[i] * sq(values[i] - centers[rank[clusterOfDistinct[i]]]);
            }
            int[] labels = new int[indexOfInput.length];
            for (int i = 0; i < labels.length; i++) labels[i] = rank[clusterOfDistinct[indexOfInput[i]]];
            return new Result(labels, centers, inertia);
        }

        private static double sq(double x) { return x * x; }
    }
}
