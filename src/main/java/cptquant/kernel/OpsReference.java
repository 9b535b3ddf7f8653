package cptquant.kernel;

/** The plain definitions of {@link Ops}, computed in double: the oracle its tests compare against. */
public final class OpsReference {
    private OpsReference() {}

    /** y[r][j] += bias[j] for each of {@code rows} rows. */
    public static void addBiasRows(float[] y, int rows, float[] bias) {
        int n = bias.length;
        for (int r = 0; r < rows; r++) for (int j = 0; j < n; j++) y[r * n + j] += bias[j];
    }

    /** a[i] += b[i] over the first n elements. */
    public static void addInPlace(float[] a, float[] b, int n) {
        for (int i = 0; i < n; i++) a[i] += b[i];
    }

    /** a[i] *= b[i] over the first n elements. */
    public static void mulInPlace(float[] a, float[] b, int n) {
        for (int i = 0; i < n; i++) a[i] *= b[i];
    }

    /** LayerNorm over each row of x (rows x dim) into out. */
    public static void layerNorm(float[] x, float[] out, int rows, int dim, float[] gamma, float[] beta, float eps) {
        for (int r = 0; r < rows; r++) {
            int o = r * dim;
            double mean = 0;
            for (int j = 0; j < dim; j++) mean += x[o + j];
            mean /= dim;
            double var = 0;
            for (int j = 0; j < dim; j++) var += (x[o + j] - mean) * (x[o + j] - mean);
            double inv = 1.0 / Math.sqrt(var / dim + eps);
            for (int j = 0; j < dim; j++) out[o + j] = (float) ((x[o + j] - mean) * inv * gamma[j] + beta[j]);
        }
    }

    /** RMSNorm over each row of x (rows x dim) into out. */
    public static void rmsNorm(float[] x, float[] out, int rows, int dim, float[] gamma, float eps) {
        for (int r = 0; r < rows; r++) {
            int o = r * dim;
            double ss = 0;
            for (int j = 0; j < dim; j++) ss += (double) x[o + j] * x[o + j];
            double inv = 1.0 / Math.sqrt(ss / dim + eps);
            for (int j = 0; j < dim; j++) out[o + j] = (float) (x[o + j] * inv * gamma[j]);
        }
    }

    /** Softmax of x[off, off+len) in place. */
    public static void softmax(float[] x, int off, int len) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) max = Math.max(max, x[off + i]);
        double[] e = new double[len];
        double sum = 0;
        for (int i = 0; i < len; i++) sum += e[i] = Math.exp(x[off + i] - max);
        for (int i = 0; i < len; i++) x[off + i] = (float) (e[i] / sum);
    }

    /** GELU, 0.5 x (1 + erf(x / sqrt 2)), in place over the first n elements. */
    public static void gelu(float[] x, int n) {
        for (int i = 0; i < n; i++) x[i] = (float) (0.5 * x[i] * (1.0 + Erf.erf(x[i] / Math.sqrt(2.0))));
    }

    /** ReLU in place over the first n elements. */
    public static void relu(float[] x, int n) {
        for (int i = 0; i < n; i++) x[i] = Math.max(x[i], 0f);
    }

    /** SiLU, x / (1 + exp(-x)), in place over the first n elements. */
    public static void silu(float[] x, int n) {
        for (int i = 0; i < n; i++) x[i] = (float) (x[i] / (1.0 + Math.exp(-x[i])));
    }
}
