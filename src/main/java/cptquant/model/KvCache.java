package cptquant.model;

import cptquant.kernel.Attention;
import java.util.Arrays;

/**
 * Every layer's keys and values for incremental decoding, laid out [position][nKvHeads * headDim]. The
 * arrays grow by doubling as positions arrive: allocating the full context up front would make a short
 * session's resident memory mostly cache (151 MB for OPT-125M at 2048 positions).
 */
final class KvCache {
    /** Positions each layer holds before its first growth. */
    static final int INITIAL_POSITIONS = 16;

    private final float[][] keys;
    private final float[][] values;
    private final int maxPositions, nHeads, nKvHeads, headDim, kvDim;
    private final float scale;

    /**
     * @param maxPositions the most positions a session may hold
     * @param scale        factor on the scores (1 when the model scales its queries itself, as OPT does)
     */
    KvCache(int layers, int maxPositions, int nHeads, int nKvHeads, int headDim, float scale) {
        this.maxPositions = maxPositions;
        this.nHeads = nHeads;
        this.nKvHeads = nKvHeads;
        this.headDim = headDim;
        this.kvDim = nKvHeads * headDim;
        this.scale = scale;
        int initial = Math.min(INITIAL_POSITIONS, maxPositions) * kvDim;
        keys = new float[layers][initial];
        values = new float[layers][initial];
    }

    /** Stores position {@code pos}'s key and value of {@code layer}, then attends its query over 0..pos. */
    void attend(int layer, float[] q, float[] k, float[] v, int pos, float[] out) {
        if ((pos + 1) * kvDim > keys[layer].length) {
            int capacity = Math.max(1, keys[layer].length / kvDim);
            while (capacity <= pos) capacity *= 2;
            int length = Math.min(capacity, maxPositions) * kvDim;
            keys[layer] = Arrays.copyOf(keys[layer], length);
            values[layer] = Arrays.copyOf(values[layer], length);
        }
        System.arraycopy(k, 0, keys[layer], pos * kvDim, kvDim);
        System.arraycopy(v, 0, values[layer], pos * kvDim, kvDim);
        Attention.decodeStep(q, keys[layer], values[layer], pos, nHeads, nKvHeads, headDim, scale, out);
    }
}
