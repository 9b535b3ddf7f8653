package cptquant.tensor;

/**
 * A linear layer's weight matrix W[out][in] in some storage format. Models only ever multiply by it,
 * so dense (F32/F16/BF16) and packed integer formats are interchangeable per module.
 */
public sealed interface Weight permits DenseWeight, PackedWeight {

    /** Number of output features (rows of W). */
    int outFeatures();

    /** Number of input features (columns of W). */
    int inFeatures();

    /**
     * y[r][o] = sum_i x[r][i] * W[o][i] for r &lt; rows; x is row-major rows x in, y row-major rows x out
     * (overwritten). Uses the shared kernel thread pool.
     */
    void matmul(float[] x, int rows, float[] y);

    /** Row r of W as FP32 (widened or dequantized) into dst[off, off + inFeatures()): an embedding lookup. */
    void row(int r, float[] dst, int off);

    /** The weight as FP32, row-major out x in (dequantized where packed). A fresh array. */
    float[] toFloat();

    /** Bytes this weight occupies in storage (packed data plus scales and zero points). */
    long storageBytes();

    /** Short human label of the storage format, e.g. "f32", "f16", "int4-g128". */
    String format();
}
