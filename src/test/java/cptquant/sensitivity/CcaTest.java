package cptquant.sensitivity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.RandomMatrices_DDRM;
import org.junit.jupiter.api.Test;

class CcaTest {

    static DMatrixRMaj gaussian(int n, int p, Random rnd) {
        DMatrixRMaj m = new DMatrixRMaj(n, p);
        for (int i = 0; i < m.data.length; i++) m.data[i] = rnd.nextGaussian();
        return m;
    }

    static float[] floats(DMatrixRMaj m) {
        float[] f = new float[m.data.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) m.data[i];
        return f;
    }

    @Test
    void rotatedCopyIsPerfectlyCorrelated() {
        Random rnd = new Random(1);
        DMatrixRMaj x = gaussian(500, 6, rnd);
        DMatrixRMaj y = CommonOps_DDRM.mult(x, RandomMatrices_DDRM.orthogonal(6, 6, rnd), null);
        CommonOps_DDRM.scale(3.0, y);
        double[] rho = Cca.of(x, y, Cca.DEFAULT_LAMBDA).correlations();
        assertEquals(6, rho.length);
        for (double r : rho) assertEquals(1.0, r, 1e-3);
    }

    @Test
    void independentDataIsUncorrelatedForLargeN() {
        Random rnd = new Random(2);
        Cca.Result r = Cca.of(gaussian(20000, 5, rnd), gaussian(20000, 4, rnd), Cca.DEFAULT_LAMBDA);
        assertEquals(4, r.correlations().length);
        assertTrue(r.correlations()[0] < 0.05, Arrays.toString(r.correlations()));
        assertTrue(r.mean() < 0.03, Arrays.toString(r.correlations()));
    }

    @Test
    void recoversKnownCanonicalCorrelations() {
        // y_j = rho_j x_j + sqrt(1 - rho_j^2) z_j, then both sides mixed by invertible maps (CCA is invariant).
        double[] rho = {0.3, 0.9, 0.0, 0.6};
        Random rnd = new Random(3);
        int n = 40000;
        DMatrixRMaj x = gaussian(n, 4, rnd), z = gaussian(n, 4, rnd), y = new DMatrixRMaj(n, 4);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 4; j++) y.set(i, j, rho[j] * x.get(i, j) + Math.sqrt(1 - rho[j] * rho[j]) * z.get(i, j));
        }
        DMatrixRMaj xm = CommonOps_DDRM.mult(x, RandomMatrices_DDRM.rectangle(4, 4, -1, 1, rnd), null);
        DMatrixRMaj ym = CommonOps_DDRM.mult(y, RandomMatrices_DDRM.rectangle(4, 4, -1, 1, rnd), null);
        CommonOps_DDRM.add(ym, 50.0, new DMatrixRMaj(n, 4, true, new double[n * 4]), ym);
        double[] got = Cca.of(xm, ym, Cca.DEFAULT_LAMBDA).correlations();
        assertArrayEquals(new double[] {0.9, 0.6, 0.3, 0.0}, got, 0.02, Arrays.toString(got));
        assertEquals(0.45, new Cca.Result(got).mean(), 0.01);
    }

    @Test
    void accumulatorMatchesBatchCcaSkippingInvalidRows() {
        Random rnd = new Random(4);
        int rows = 700, dim = 8;
        DMatrixRMaj x = gaussian(rows, dim, rnd), y = gaussian(rows, dim, rnd);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < dim; j++) {
                x.add(i, j, 1000); // large common offset: the shifted sums must not lose the covariance
                y.add(i, j, 0.7 * x.get(i, (j + 1) % dim));
            }
        }
        boolean[] valid = new boolean[rows];
        int nValid = 0;
        for (int i = 0; i < rows; i++) if (valid[i] = rnd.nextInt(5) != 0) nValid++;
        DMatrixRMaj vx = new DMatrixRMaj(nValid, dim), vy = new DMatrixRMaj(nValid, dim);
        float[] fx = floats(x), fy = floats(y);
        for (int i = 0, k = 0; i < rows; i++) {
            if (!valid[i]) {
                Arrays.fill(fx, i * dim, (i + 1) * dim, Float.NaN); // padding content must never be read
                continue;
            }
            for (int j = 0; j < dim; j++) {
                vx.set(k, j, fx[i * dim + j]);
                vy.set(k, j, fy[i * dim + j]);
            }
            k++;
        }
        Cca.Accumulator acc = new Cca.Accumulator(dim);
        int[] cuts = {0, 1, 300, 650, rows};
        for (int c = 0; c + 1 < cuts.length; c++) {
            int from = cuts[c], n = cuts[c + 1] - from;
            acc.add(Arrays.copyOfRange(fx, from * dim, (from + n) * dim), Arrays.copyOfRange(fy, from * dim, (from + n) * dim),
                    n, dim, Arrays.copyOfRange(valid, from, from + n));
        }
        assertEquals(nValid, acc.rows());
        assertArrayEquals(Cca.of(vx, vy, Cca.DEFAULT_LAMBDA).correlations(), acc.result().correlations(), 1e-9);
        assertTrue(acc.result().correlations()[0] > 0.5);
    }

    @Test
    void projectedAccumulatorKeepsIdentityAtOneAndNoiseLow() {
        Random rnd = new Random(5);
        int rows = 12000, dim = 200;
        float[] x = floats(gaussian(rows, dim, rnd)), noise = floats(gaussian(rows, dim, rnd));
        Cca.Accumulator same = new Cca.Accumulator(dim), independent = new Cca.Accumulator(dim);
        same.add(x, x, rows, dim, null);
        independent.add(x, noise, rows, dim, null);
        double[] one = same.result().correlations();
        assertEquals(Cca.Accumulator.DEFAULT_MAX_DIMS, one.length);
        for (double r : one) assertEquals(1.0, r, 1e-3);
        assertTrue(independent.result().mean() < 0.1, Arrays.toString(independent.result().correlations()));
    }

    @Test
    void degenerateInputs() {
        Cca.Accumulator acc = new Cca.Accumulator(3);
        assertThrows(IllegalStateException.class, acc::result);
        acc.add(new float[] {1, 2, 3, 1, 2, 3}, new float[] {0, 1, 0, 5, 1, 2}, 2, 3, null);
        assertArrayEquals(new double[3], acc.result().correlations(), "a constant side has nothing to correlate");
        assertThrows(IllegalArgumentException.class, () -> acc.add(new float[4], new float[4], 1, 4, null));
    }
}
