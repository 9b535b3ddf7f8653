package cptquant.quant;

import java.util.Arrays;
import java.util.Optional;

/**
 * The ggml tensor types cptquant writes to GGUF, with ggml's numeric ids and block geometry. A block
 * type stores {@link #blockSize()} consecutive values of a row (ne[0], the contiguous dimension) in
 * {@link #blockBytes()} bytes, so it can only hold rows whose length is a multiple of the block size.
 */
public enum GgmlType {
    /** IEEE float32, one value per "block". */
    F32(0, 1, 4),
    /** IEEE float16. */
    F16(1, 1, 2),
    /** 4-bit symmetric: fp16 scale d, 32 codes q in [0, 15], value = (q - 8) d. */
    Q4_0(2, 32, 2 + 16),
    /** 4-bit asymmetric: fp16 scale d and minimum m, 32 codes q in [0, 15], value = q d + m. */
    Q4_1(3, 32, 2 + 2 + 16),
    /** 8-bit symmetric: fp16 scale d, 32 signed bytes q, value = q d. */
    Q8_0(8, 32, 2 + 32);

    private final int id;
    private final int blockSize;
    private final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** ggml's {@code enum ggml_type} value, as stored in a GGUF tensor info. */
    public int id() { return id; }

    /** Values per block. */
    public int blockSize() { return blockSize; }

    /** Bytes per block. */
    public int blockBytes() { return blockBytes; }

    /** Whether a row of {@code rowLength} values can be stored in this type (whole blocks only). */
    public boolean fitsRow(long rowLength) {
        return rowLength > 0 && rowLength % blockSize == 0;
    }

    /** Bytes that {@code count} values take; {@code count} must be a whole number of blocks. */
    public long bytes(long count) {
        if (count % blockSize != 0) {
            throw new IllegalArgumentException(this + " stores whole blocks of " + blockSize + " values, got " + count);
        }
        return count / blockSize * blockBytes;
    }

    /** The type with ggml id {@code id}, if cptquant knows it (ggml has many more, e.g. the K-quants). */
    public static Optional<GgmlType> byId(int id) {
        return Arrays.stream(values()).filter(t -> t.id == id).findFirst();
    }
}
