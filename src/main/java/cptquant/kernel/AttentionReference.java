package cptquant.kernel;

/** The plain definitions of {@link Attention}, accumulated in double: the oracle its tests compare against. */
public final class AttentionReference {
    private AttentionReference() {}

    /** Same contract as {@link Attention#multiHead}. */
    public static void multiHead(float[] q, float[] k, float[] v, int batch, int seq, int nHeads, int nKvHeads,
                                 int headDim, boolean causal, int[] lengths, float scale, float[] out) {
        int group = nHeads / nKvHeads;
        int qStride = nHeads * headDim, kvStride = nKvHeads * headDim;
        for (int b = 0; b < batch; b++) {
            int len = lengths == null ? seq : lengths[b];
            for (int h = 0; h < nHeads; h++) {
                for (int i = 0; i < seq; i++) {
                    int last = causal ? Math.min(i + 1, len) : len;
                    if (last <= 0) last = 1; // a fully masked row attends to position 0 rather than producing NaN
                    attend(q, (b * seq + i) * qStride + h * headDim, k, v, b * seq * kvStride + (h / group) * headDim,
                            kvStride, last, headDim, scale, out, (b * seq + i) * qStride + h * headDim);
                }
            }
        }
    }

    /** Same contract as {@link Attention#decodeStep}. */
    public static void decodeStep(float[] q, float[] kCache, float[] vCache, int pos, int nHeads, int nKvHeads,
                                  int headDim, float scale, float[] out) {
        int group = nHeads / nKvHeads;
        for (int h = 0; h < nHeads; h++) {
            attend(q, h * headDim, kCache, vCache, (h / group) * headDim, nKvHeads * headDim, pos + 1, headDim,
                    scale, out, h * headDim);
        }
    }

    /** One query row at qo against keys/values j in [0, n) at kvBase + j * kvStride: softmax(q k^T scale) v. */
    private static void attend(float[] q, int qo, float[] k, float[] v, int kvBase, int kvStride, int n, int headDim,
                               float scale, float[] out, int oo) {
        double[] s = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            double dot = 0;
            for (int d = 0; d < headDim; d++) dot += (double) q[qo + d] * k[kvBase + j * kvStride + d];
            s[j] = dot * scale;
            max = Math.max(max, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) sum += s[j] = Math.exp(s[j] - max);
        for (int d = 0; d < headDim; d++) {
            double o = 0;
            for (int j = 0; j < n; j++) o += s[j] * v[kvBase + j * kvStride + d];
            out[oo + d] = (float) (o / sum);
        }
    }
}
