package cptquant.kernel;

/**
 * Element-wise and row-wise operations on row-major float activations. Placeholder scalar
 * implementations; the vectorized versions keep these signatures.
 */
public final class Ops {
    private Ops() {}

    /** y[r][j] += bias[j] for each of {@code rows} rows. */
    public static void addBiasRows(float[] y, int rows, float[] bias) {
        int n = bias.length;
        for (int r = 0; r < rows; r++) for (int j = 0; j < n; j++) y[r * n + j] += bias[j];
    }

    /** a[i] += b[i] over the first n elements (residual connections). */
    public static void addInPlace(float[] a, float[] b, int n) {
        for (int i = 0; i < n; i++) a[i] += b[i];
    }

    /** a[i] *= b[i] over the first n elements (SwiGLU gating). */
    public static void mulInPlace(float[] a, float[] b, int n) {
        for (int i = 0; i < n; i++) a[i] *= b[i];
    }

    /** LayerNorm over each row of x (rows x dim) into out; gamma/beta length dim; out may be x. */
    public static void layerNorm(float[] x, float[] out, int rows, int dim, float[] gamma, float[] beta, float eps) {
        for (int r = 0; r < rows; r++) {
            int o = r * dim;
            double mean = 0;
            for (int j = 0; j < dim; j++) mean += x[o + j];
            mean /= dim;
            double var = 0;
            for (int j = 0; j < dim; j++) { double d = x[o + j] - mean; var += d * d; }
            var /= dim;
            float inv = (float) (1.0 / Math.sqrt(var + eps));
            for (int j = 0; j < dim; j++) out[o + j] = (float) ((x[o + j] - mean) * inv) * gamma[j] + beta[j];
        }
    }

    /** RMSNorm over each row of x (rows x dim) into out; out may be x. */
    public static void rmsNorm(float[] x, float[] out, int rows, int dim, float[] gamma, float eps) {
        for (int r = 0; r < rows; r++) {
            int o = r * dim;
            double ss = 0;
            for (int j = 0; j < dim; j++) ss += (double) x[o + j] * x[o + j];
            float inv = (float) (1.0 / Math.sqrt(ss / dim + eps));
            for (int j = 0; j < dim; j++) out[o + j] = x[o + j] * inv * gamma[j];
        }
    }

    /** Numerically stable softmax of x[off, off+len) in place. */
    public static void softmax(float[] x, int off, int len) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) max = Math.max(max, x[off + i]);
        double sum = 0;
        for (int i = 0; i < len; i++) { float e = (float) Math.exp(x[off + i] - max); x[off + i] = e; sum += e; }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < len; i++) x[off + i] *= inv;
    }

    /** Exact (erf) GELU in place over the first n elements, as BERT's "gelu". */
    public static void gelu(float[] x, int n) {
        for (int i = 0; i < n; i++) x[i] = (float) (0.5 * x[i] * (1.0 + Erf.erf(x[i] / Math.sqrt(2.0))));
    }

    /** ReLU in place over the first n elements. */
    public static void relu(float[] x, int n) {
        for (int i = 0; i < n; i++) if (x[i] < 0) x[i] = 0;
    }

    /** SiLU (x * sigmoid(x)) in place over the first n elements. */
    public static void silu(float[] x, int n) {
        for (int i = 0; i < n; i++) x[i] = (float) (x[i] / (1.0 + Math.exp(-x[i])));
    }
}
