package cptquant.kernel;

/**
 * Rotary position embedding in llama2.c's convention: within each head, the pair (2i, 2i+1) is rotated
 * by angle pos * theta^(-2i/headDim). Tables for every position are computed once.
 */
public final class Rotary {
    /** The base used by Llama and llama2.c. */
    public static final double DEFAULT_THETA = 10000.0;

    private final int headDim;
    private final int maxPositions;
    private final float[] cos;
    private final float[] sin;

    public Rotary(int headDim, int maxPositions, double theta) {
        if (headDim <= 0 || headDim % 2 != 0) throw new IllegalArgumentException("head dim must be even, got " + headDim);
        this.headDim = headDim;
        this.maxPositions = maxPositions;
        int half = headDim / 2;
        cos = new float[maxPositions * half];
        sin = new float[maxPositions * half];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * Math.pow(theta, -2.0 * i / headDim);
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
    }

    public int maxPositions() { return maxPositions; }

    /**
     * Rotates {@code rows} consecutive rows of x in place, each holding {@code nHeads} heads of headDim
     * values; row r is at position startPos + r.
     */
    public void apply(float[] x, int rows, int nHeads, int startPos) {
        if (startPos < 0 || startPos + rows > maxPositions) {
            throw new IllegalArgumentException("positions " + startPos + ".." + (startPos + rows - 1)
                    + " outside the rotary table of " + maxPositions);
        }
        int half = headDim / 2, width = nHeads * headDim;
        for (int r = 0; r < rows; r++) {
            int t = (startPos + r) * half;
            for (int h = 0; h < nHeads; h++) {
                int o = r * width + h * headDim;
                for (int i = 0; i < half; i++) {
                    float c = cos[t + i], s = sin[t + i];
                    float a = x[o + 2 * i], b = x[o + 2 * i + 1];
                    x[o + 2 * i] = a * c - b * s;
                    x[o + 2 * i + 1] = a * s + b * c;
                }
            }
        }
    }
}
