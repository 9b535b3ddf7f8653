package cptquant.allocate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import java.util.function.BiFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class KMeans1DTest {

    static BiFunction<double[], Integer, KMeans1D.Result> method(String name) {
        return name.equals("optimal") ? KMeans1D::optimal : KMeans1D::lloyd;
    }

    @ParameterizedTest
    @ValueSource(strings = {"optimal", "lloyd"})
    void findsKnownClustersWithLabelsOrderedByCenter(String name) {
        double[] v = {5.1, 0.2, 9.8, 0.1, 5.0, 10.1, 4.9, 0.3, 9.9};
        KMeans1D.Result r = method(name).apply(v, 3);
        assertArrayEquals(new int[] {1, 0, 2, 0, 1, 2, 1, 0, 2}, r.labels());
        assertArrayEquals(new double[] {0.2, 5.0, 9.933333333333334}, r.centers(), 1e-12);
        assertEquals(3, r.clusters());
    }

    @ParameterizedTest
    @ValueSource(strings = {"optimal", "lloyd"})
    void equalValuesShareACluster(String name) {
        double[] v = {1, 1, 1, 2, 2, 2, 7, 7};
        KMeans1D.Result r = method(name).apply(v, 2);
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 0, 1, 1}, r.labels());
        assertEquals(1.5, r.inertia(), 1e-12);
    }

    @ParameterizedTest
    @ValueSource(strings = {"optimal", "lloyd"})
    void fewerDistinctValuesThanClusters(String name) {
        KMeans1D.Result two = method(name).apply(new double[] {3, 1, 3, 1}, 3);
        assertArrayEquals(new int[] {1, 0, 1, 0}, two.labels());
        assertArrayEquals(new double[] {1, 3}, two.centers());
        assertEquals(0, two.inertia());

        KMeans1D.Result one = method(name).apply(new double[] {0.5, 0.5, 0.5}, 3);
        assertArrayEquals(new int[] {0, 0, 0}, one.labels());
        assertEquals(1, one.clusters());
    }

    @Test
    void optimalMatchesExhaustiveSearchAndLloydNeverBeatsIt() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + rnd.nextInt(8), k = 1 + rnd.nextInt(4);
            double[] v = new double[n];
            for (int i = 0; i < n; i++) v[i] = rnd.nextInt(3) == 0 ? Math.floor(rnd.nextDouble() * 4) : rnd.nextGaussian();
            double opt = KMeans1D.optimal(v, k).inertia();
            assertEquals(bruteForceInertia(v, k), opt, 1e-9, "trial " + trial);
            assertEquals(true, KMeans1D.lloyd(v, k).inertia() >= opt - 1e-9);
        }
    }

    @Test
    void lloydAgreesWithOptimalOnWellSeparatedData() {
        Random rnd = new Random(3);
        for (int trial = 0; trial < 50; trial++) {
            int k = 1 + rnd.nextInt(5);
            double[] v = new double[40];
            for (int i = 0; i < v.length; i++) v[i] = 100 * rnd.nextInt(k) + rnd.nextDouble();
            KMeans1D.Result a = KMeans1D.optimal(v, k), b = KMeans1D.lloyd(v, k);
            assertArrayEquals(a.labels(), b.labels(), "trial " + trial);
            assertArrayEquals(a.centers(), b.centers(), 1e-9);
        }
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> KMeans1D.optimal(new double[0], 3));
        assertThrows(IllegalArgumentException.class, () -> KMeans1D.optimal(new double[] {1}, 0));
        assertThrows(IllegalArgumentException.class, () -> KMeans1D.lloyd(new double[] {1, Double.NaN}, 2));
    }

    /** Least inertia over every assignment of the values to at most k clusters. */
    static double bruteForceInertia(double[] v, int k) {
        int n = v.length;
        double best = Double.POSITIVE_INFINITY;
        int[] a = new int[n];
        for (long code = 0; code < (long) Math.pow(k, n); code++) {
            long c = code;
            for (int i = 0; i < n; i++, c /= k) a[i] = (int) (c % k);
            double[] s = new double[k], cnt = new double[k];
            for (int i = 0; i < n; i++) {
                s[a[i]] += v[i];
                cnt[a[i]]++;
            }
            double inertia = 0;
            for (int i = 0; i < n; i++) inertia += Math.pow(v[i] - s[a[i]] / cnt[a[i]], 2);
            best = Math.min(best, inertia);
        }
        return best;
    }
}
