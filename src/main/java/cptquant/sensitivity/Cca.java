package cptquant.sensitivity;

import java.util.Arrays;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.decomposition.TriangularSolver_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;

/**
 * Regularised canonical correlation analysis between the rows of X (n x p) and Y (n x q): centre both,
 * form the covariances, add a ridge of {@code lambda * trace(C) / dim} to each side's own covariance (so
 * the ridge is relative to its scale), whiten each side with the inverse of its Cholesky factor, and take
 * the singular values of Lx^-1 Cxy Ly^-T. These are the canonical correlations, clipped to [0, 1], largest
 * first, min(p, q) of them. A side with no variance at all has no measurable linear relation: all zeros.
 */
public final class Cca {
    /** Default relative ridge. */
    public static final double DEFAULT_LAMBDA = 1e-4;

    private Cca() {}

    /** Canonical correlations, largest first. */
    public record Result(double[] correlations) {
        /** Mean canonical correlation (the CMPQ similarity of a block's input and output). */
        public double mean() {
            return Arrays.stream(correlations).average().orElse(0);
        }
    }

    /** CCA of the rows of {@code x} and {@code y} (same number of rows, at least 2). */
    public static Result of(DMatrixRMaj x, DMatrixRMaj y, double lambda) {
        if (x.numRows != y.numRows) throw new IllegalArgumentException(x.numRows + " rows of X but " + y.numRows + " of Y");
        if (x.numRows < 2) throw new IllegalArgumentException("CCA needs at least 2 rows, got " + x.numRows);
        DMatrixRMaj xc = centred(x), yc = centred(y);
        // Scatter matrices: the 1/(n-1) of a covariance cancels out of the correlations (the ridge is relative).
        return fromCovariances(CommonOps_DDRM.multTransA(xc, xc, null), CommonOps_DDRM.multTransA(yc, yc, null),
                CommonOps_DDRM.multTransA(xc, yc, null), lambda);
    }

    private static DMatrixRMaj centred(DMatrixRMaj m) {
        DMatrixRMaj c = m.copy();
        for (int j = 0; j < m.numCols; j++) {
            double mean = 0;
            for (int i = 0; i < m.numRows; i++) mean += m.get(i, j);
            mean /= m.numRows;
            for (int i = 0; i < m.numRows; i++) c.set(i, j, m.get(i, j) - mean);
        }
        return c;
    }

    /** Canonical correlations from (unnormalised) covariances; the inputs are not modified. */
    static Result fromCovariances(DMatrixRMaj cxx, DMatrixRMaj cyy, DMatrixRMaj cxy, double lambda) {
        if (!(lambda >= 0)) throw new IllegalArgumentException("ridge must be >= 0, got " + lambda);
        int count = Math.min(cxx.numRows, cyy.numRows);
        if (!(CommonOps_DDRM.trace(cxx) > 0) || !(CommonOps_DDRM.trace(cyy) > 0)) return new Result(new double[count]);
        DMatrixRMaj wx = inverseCholesky(cxx, lambda), wy = inverseCholesky(cyy, lambda);
        DMatrixRMaj m = CommonOps_DDRM.multTransB(CommonOps_DDRM.mult(wx, cxy, null), wy, null);
        double[] s = SingularOps_DDRM.singularValues(m);
        Arrays.sort(s);
        double[] rho = new double[count];
        for (int i = 0; i < count; i++) rho[i] = Math.clamp(s[s.length - 1 - i], 0.0, 1.0);
        return new Result(rho);
    }

    /** L^-1 where L L^T = C + lambda * trace(C) / dim * I: a whitening transform for C. */
    private static DMatrixRMaj inverseCholesky(DMatrixRMaj c, double lambda) {
        int n = c.numRows;
        DMatrixRMaj a = c.copy();
        double ridge = lambda * CommonOps_DDRM.trace(c) / n;
        for (int i = 0; i < n; i++) a.add(i, i, ridge);
        CholeskyDecomposition_F64<DMatrixRMaj> chol = DecompositionFactory_DDRM.chol(n, true);
        if (!chol.decompose(a)) {
            throw new IllegalArgumentException("covariance is singular; CCA needs a positive ridge (lambda " + lambda + ")");
        }
        DMatrixRMaj l = chol.getT(null);
        TriangularSolver_DDRM.invertLower(l.data, n);
        return l;
    }

    /**
     * Accumulates CCA statistics over batches of rows (hidden states of many sequences) without keeping
     * them: only sums and cross-product sums of the projected rows are stored.
     *
     * <p>To stay fast on two cores, a side wider than {@code maxDims} (default 64) is first multiplied by
     * a fixed Gaussian random projection to {@code maxDims} dimensions, drawn from {@code new Random(seed)}.
     * When both sides have the same width they share one projection, so identical inputs and outputs
     * still score exactly 1. The correlations are then those of the projected states: a
     * Johnson-Lindenstrauss style sketch of the full CCA, cheap enough to see every calibration token.
     *
     * <p>Sums are taken relative to the first valid row, which keeps the covariance free of cancellation
     * when hidden states carry large means.
     */
    public static final class Accumulator {
        /** Default projected width per side. */
        public static final int DEFAULT_MAX_DIMS = 64;
        private static final int CHUNK_ROWS = 256;

        private final int xDim, yDim;
        private final DMatrixRMaj projX, projY;
        private final DMatrixRMaj sumX, sumY, sxx, syy, sxy;
        private double[] shiftX, shiftY;
        private long count;

        /** Both sides of width {@code dim} (a block's input and output), default maxDims, seed 0. */
        public Accumulator(int dim) {
            this(dim, dim, DEFAULT_MAX_DIMS, 0);
        }

        public Accumulator(int xDim, int yDim, int maxDims, long seed) {
            if (xDim < 1 || yDim < 1 || maxDims < 1) {
                throw new IllegalArgumentException("widths must be positive: " + xDim + ", " + yDim + ", " + maxDims);
            }
            this.xDim = xDim;
            this.yDim = yDim;
            Random random = new Random(seed);
            projX = projection(xDim, maxDims, random);
            projY = xDim == yDim ? projX : projection(yDim, maxDims, random);
            int px = Math.min(xDim, maxDims), py = Math.min(yDim, maxDims);
            sumX = new DMatrixRMaj(1, px);
            sumY = new DMatrixRMaj(1, py);
            sxx = new DMatrixRMaj(px, px);
            syy = new DMatrixRMaj(py, py);
            sxy = new DMatrixRMaj(px, py);
        }

        /** A dim x maxDims Gaussian matrix, or null when no projection is needed. */
        private static DMatrixRMaj projection(int dim, int maxDims, Random random) {
            if (dim <= maxDims) return null;
            DMatrixRMaj p = new DMatrixRMaj(dim, maxDims);
            for (int i = 0; i < p.data.length; i++) p.data[i] = random.nextGaussian();
            return p;
        }

        /**
         * Adds the valid rows of {@code x} (rows x dim) paired with those of {@code y} (rows x dim), in
         * the form {@link cptquant.model.BlockObserver} reports a block's input and output.
         *
         * @param valid which rows are real tokens (padding rows are skipped); null means all
         */
        public void add(float[] x, float[] y, int rows, int dim, boolean[] valid) {
            if (dim != xDim || dim != yDim) {
                throw new IllegalArgumentException("rows of width " + dim + " for an accumulator of widths " + xDim + ", " + yDim);
            }
            int capacity = Math.min(rows, CHUNK_ROWS);
            DMatrixRMaj bx = new DMatrixRMaj(capacity, dim), by = new DMatrixRMaj(capacity, dim);
            for (int r = 0; r < rows; ) {
                int n = 0;
                for (; r < rows && n < capacity; r++) {
                    if (valid != null && !valid[r]) continue;
                    for (int j = 0; j < dim; j++) {
                        bx.data[n * dim + j] = x[r * dim + j];
                        by.data[n * dim + j] = y[r * dim + j];
                    }
                    n++;
                }
                if (n == 0) continue;
                bx.reshape(n, dim); // shrinking keeps the buffer, so the next chunk reuses it
                by.reshape(n, dim);
                accumulate(project(bx, projX), project(by, projY));
            }
        }

        private static DMatrixRMaj project(DMatrixRMaj rows, DMatrixRMaj projection) {
            return projection == null ? rows : CommonOps_DDRM.mult(rows, projection, null);
        }

        private void accumulate(DMatrixRMaj px, DMatrixRMaj py) {
            if (shiftX == null) {
                shiftX = Arrays.copyOf(px.data, px.numCols);
                shiftY = Arrays.copyOf(py.data, py.numCols);
            }
            shift(px, shiftX, sumX);
            shift(py, shiftY, sumY);
            CommonOps_DDRM.multAddTransA(px, px, sxx);
            CommonOps_DDRM.multAddTransA(py, py, syy);
            CommonOps_DDRM.multAddTransA(px, py, sxy);
            count += px.numRows;
        }

        /** Subtracts {@code shift} from every row of m in place and adds the rows to {@code sum}. */
        private static void shift(DMatrixRMaj m, double[] shift, DMatrixRMaj sum) {
            for (int i = 0; i < m.numRows; i++) {
                for (int j = 0; j < m.numCols; j++) {
                    double v = m.get(i, j) - shift[j];
                    m.set(i, j, v);
                    sum.data[j] += v;
                }
            }
        }

        /** Valid rows seen so far. */
        public long rows() { return count; }

        /** CCA of everything added, with the default ridge. */
        public Result result() {
            return result(DEFAULT_LAMBDA);
        }

        /** CCA of everything added. */
        public Result result(double lambda) {
            if (count < 2) throw new IllegalStateException("CCA needs at least 2 valid rows, got " + count);
            return fromCovariances(centre(sxx, sumX, sumX), centre(syy, sumY, sumY), centre(sxy, sumX, sumY), lambda);
        }

        /** s - a^T b / n: a cross-product sum about the means. */
        private DMatrixRMaj centre(DMatrixRMaj s, DMatrixRMaj a, DMatrixRMaj b) {
            DMatrixRMaj c = s.copy();
            CommonOps_DDRM.multAddTransA(-1.0 / count, a, b, c);
            return c;
        }
    }
}
