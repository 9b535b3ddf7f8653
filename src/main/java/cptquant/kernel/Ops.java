package cptquant.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise and row-wise operations on row-major float activations, vectorised with the Vector API
 * (each loop runs whole vectors, then one masked vector for the tail). Sums are accumulated in float
 * vectors; {@link OpsReference} holds the double-precision definitions the tests compare against.
 */
public final class Ops {
    private Ops() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Elements per parallel chunk; smaller operations run on the calling thread, where forking would cost more. */
    private static final int CHUNK = 1 << 15;

    /** Runs body(lo, hi) over [0, units) in pieces of about CHUNK elements (unitSize each), spread over the pool. */
    private static void chunked(int units, int unitSize, RangeBody body) {
        int per = Math.max(1, CHUNK / Math.max(1, unitSize));
        int pieces = (units + per - 1) / per;
        Parallel.forRange(pieces, c -> body.run(c * per, Math.min(units, (c + 1) * per)));
    }

    @FunctionalInterface
    private interface RangeBody {
        void run(int lo, int hi);
    }

    /** y[r][j] += bias[j] for each of {@code rows} rows. */
    public static void addBiasRows(float[] y, int rows, float[] bias) {
        chunked(rows, bias.length, (lo, hi) -> {
            for (int r = lo; r < hi; r++) add(y, r * bias.length, bias, 0, bias.length);
        });
    }

    /** a[i] += b[i] over the first n elements (residual connections). */
    public static void addInPlace(float[] a, float[] b, int n) {
        chunked(n, 1, (lo, hi) -> add(a, lo, b, lo, hi - lo));
    }

    /** a[aOff + i] += b[bOff + i] for i in [0, n). */
    private static void add(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(F, a, aOff + i).add(FloatVector.fromArray(F, b, bOff + i)).intoArray(a, aOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, a, aOff + i, m).add(FloatVector.fromArray(F, b, bOff + i, m))
                    .intoArray(a, aOff + i, m);
        }
    }

    /** a[i] *= b[i] over the first n elements (SwiGLU gating). */
    public static void mulInPlace(float[] a, float[] b, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(F, a, i).mul(FloatVector.fromArray(F, b, i)).intoArray(a, i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, a, i, m).mul(FloatVector.fromArray(F, b, i, m)).intoArray(a, i, m);
        }
    }

    /** LayerNorm over each row of x (rows x dim) into out; gamma/beta length dim; out may be x. */
    public static void layerNorm(float[] x, float[] out, int rows, int dim, float[] gamma, float[] beta, float eps) {
        chunked(rows, dim, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int o = r * dim;
                float mean = sum(x, o, dim, 0f, false) / dim;
                float var = sum(x, o, dim, mean, true) / dim; // two passes: no cancellation from E[x^2] - mean^2
                normalize(x, out, o, dim, mean, (float) (1.0 / Math.sqrt(var + eps)), gamma, beta);
            }
        });
    }

    /** RMSNorm over each row of x (rows x dim) into out; out may be x. */
    public static void rmsNorm(float[] x, float[] out, int rows, int dim, float[] gamma, float eps) {
        for (int r = 0; r < rows; r++) {
            int o = r * dim;
            float ss = sum(x, o, dim, 0f, true);
            normalize(x, out, o, dim, 0f, (float) (1.0 / Math.sqrt(ss / dim + eps)), gamma, null);
        }
    }

    /** Sum over x[off, off+n) of (x - shift), or of (x - shift)^2 when {@code squares}. */
    static float sum(float[] x, int off, int n, float shift, boolean squares) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector d = FloatVector.fromArray(F, x, off + i).sub(shift);
            acc = squares ? d.fma(d, acc) : acc.add(d);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector d = FloatVector.fromArray(F, x, off + i, m).sub(shift, m);
            acc = squares ? d.fma(d, acc) : acc.add(d);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** out[off+j] = (x[off+j] - shift) * inv * gamma[j] (+ beta[j] unless beta is null). */
    private static void normalize(float[] x, float[] out, int off, int n, float shift, float inv, float[] gamma,
                                  float[] beta) {
        int i = 0;
        for (; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector y = FloatVector.fromArray(F, x, off + i, m).sub(shift).mul(inv)
                    .mul(FloatVector.fromArray(F, gamma, i, m));
            if (beta != null) y = y.add(FloatVector.fromArray(F, beta, i, m));
            y.intoArray(out, off + i, m);
        }
    }

    /** Numerically stable softmax of x[off, off+len) in place. */
    public static void softmax(float[] x, int off, int len) {
        if (len <= 0) return;
        FloatVector mx = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        int bound = F.loopBound(len);
        for (; i < bound; i += L) mx = mx.max(FloatVector.fromArray(F, x, off + i));
        float max = mx.reduceLanes(VectorOperators.MAX);
        for (; i < len; i++) max = Math.max(max, x[off + i]);
        FloatVector sum = FloatVector.zero(F);
        for (i = 0; i < len; i += L) {
            VectorMask<Float> m = F.indexInRange(i, len);
            FloatVector e = FloatVector.fromArray(F, x, off + i, m).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + i, m);
            sum = sum.add(e, m);
        }
        float inv = 1f / sum.reduceLanes(VectorOperators.ADD);
        for (i = 0; i < len; i += L) {
            VectorMask<Float> m = F.indexInRange(i, len);
            FloatVector.fromArray(F, x, off + i, m).mul(inv).intoArray(x, off + i, m);
        }
    }

    /** Exact (erf) GELU in place over the first n elements, as BERT's "gelu". */
    public static void gelu(float[] x, int n) {
        chunked(n, 1, (lo, hi) -> {
            int i = lo;
            for (int bound = lo + F.loopBound(hi - lo); i < bound; i += L) {
                gelu(FloatVector.fromArray(F, x, i)).intoArray(x, i);
            }
            if (i < hi) {
                VectorMask<Float> m = F.indexInRange(i, hi);
                gelu(FloatVector.fromArray(F, x, i, m)).intoArray(x, i, m);
            }
        });
    }

    private static FloatVector gelu(FloatVector v) {
        return v.mul(0.5f).mul(Erf.erf(v.mul((float) (1 / Math.sqrt(2)))).add(1f));
    }

    /** ReLU in place over the first n elements. */
    public static void relu(float[] x, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) FloatVector.fromArray(F, x, i).max(0f).intoArray(x, i);
        for (; i < n; i++) if (x[i] < 0) x[i] = 0;
    }

    /** SiLU (x * sigmoid(x)) in place over the first n elements. */
    public static void silu(float[] x, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) silu(FloatVector.fromArray(F, x, i)).intoArray(x, i);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            silu(FloatVector.fromArray(F, x, i, m)).intoArray(x, i, m);
        }
    }

    private static FloatVector silu(FloatVector v) {
        return v.div(v.neg().lanewise(VectorOperators.EXP).add(1f));
    }
}
