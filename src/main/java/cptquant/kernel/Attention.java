package cptquant.kernel;

/** Scaled dot-product multi-head attention over batched, row-major activations. */
public final class Attention {
    private Attention() {}

    /**
     * out = softmax(q k^T * scale + mask) v per batch element and head. Layouts: q and out are
     * (batch*seq) x (nHeads*headDim); k and v are (batch*seq) x (nKvHeads*headDim); query head h reads
     * kv head h / (nHeads/nKvHeads) (grouped-query attention). {@code causal} hides later positions;
     * {@code lengths[b]} (null = all seq) hides padded key positions >= lengths[b]. Padded query rows
     * are still computed (their output is unused).
     */
    public static void multiHead(float[] q, float[] k, float[] v, int batch, int seq, int nHeads, int nKvHeads,
                                 int headDim, boolean causal, int[] lengths, float scale, float[] out) {
        int group = nHeads / nKvHeads;
        int qStride = nHeads * headDim, kvStride = nKvHeads * headDim;
        Parallel.forRange(batch * nHeads, bh -> {
            int b = bh / nHeads, h = bh % nHeads, kh = h / group;
            int len = lengths == null ? seq : lengths[b];
            float[] scores = new float[seq];
            for (int i = 0; i < seq; i++) {
                int qo = (b * seq + i) * qStride + h * headDim;
                int last = causal ? Math.min(i + 1, len) : len;
                if (last <= 0) last = 1; // a fully masked row attends to position 0 rather than producing NaN
                for (int j = 0; j < last; j++) {
                    int ko = (b * seq + j) * kvStride + kh * headDim;
                    float s = 0;
                    for (int d = 0; d < headDim; d++) s += q[qo + d] * k[ko + d];
                    scores[j] = s * scale;
                }
                Ops.softmax(scores, 0, last);
                int oo = (b * seq + i) * qStride + h * headDim;
                for (int d = 0; d < headDim; d++) out[oo + d] = 0;
                for (int j = 0; j < last; j++) {
                    int vo = (b * seq + j) * kvStride + kh * headDim;
                    float p = scores[j];
                    for (int d = 0; d < headDim; d++) out[oo + d] += p * v[vo + d];
                }
            }
        });
    }
}
