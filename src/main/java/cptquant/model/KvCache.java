package cptquant.model;

import cptquant.kernel.Attention;

/** Every layer's keys and values for incremental decoding, laid out [position][nKvHeads * headDim]. */
final class KvCache {
    private final float[][] keys;
    private final float[][] values;
    private final int nHeads, nKvHeads, headDim, kvDim;
    private final float scale;

    /** @param scale factor on the scores (1 when the model scales its queries itself, as OPT does) */
    KvCache(int layers, int positions, int nHeads, int nKvHeads, int headDim, float scale) {
        this.nHeads = nHeads;
        this.nKvHeads = nKvHeads;
        this.headDim = headDim;
        this.kvDim = nKvHeads * headDim;
        this.scale = scale;
        keys = new float[layers][positions * kvDim];
        values = new float[layers][positions * kvDim];
    }

    /** Stores position {@code pos}'s key and value of {@code layer}, then attends its query over 0..pos. */
    void attend(int layer, float[] q, float[] k, float[] v, int pos, float[] out) {
        System.arraycopy(k, 0, keys[layer], pos * kvDim, kvDim);
        System.arraycopy(v, 0, values[layer], pos * kvDim, kvDim);
        Attention.decodeStep(q, keys[layer], values[layer], pos, nHeads, nKvHeads, headDim, scale, out);
    }
}
