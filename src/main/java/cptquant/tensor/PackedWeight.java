package cptquant.tensor;

import cptquant.kernel.PackedGemm;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A weight stored as packed unsigned integer codes (8-bit: one per byte; 4-bit: two per byte, low nibble
 * first) with an FP16 scale and an integer zero point per group of {@code groupSize} inputs of each output
 * row: w = (q - zero) * scale. Symmetric weights store no zero points (zero = 2^(bits-1)).
 * Rows are padded to whole bytes, so sizes are exactly what a file holds.
 */
public final class PackedWeight implements Weight {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final int bits;
    private final int groupSize;
    private final int outFeatures;
    private final int inFeatures;
    private final MemorySegment codes;
    private final MemorySegment scales;
    private final MemorySegment zeros;
    /** Built on the first decode call: prefill and evaluation never need it. */
    private volatile PackedGemm.DecodeParams decodeParams;

    /**
     * @param groupSize inputs per scale; equal to inFeatures for per-channel quantization
     * @param codes     out x rowBytes(bits, in) bytes
     * @param scales    out x groups FP16 values (little-endian)
     * @param zeros     out x groups unsigned bytes, or null for symmetric
     */
    public PackedWeight(int bits, int groupSize, int outFeatures, int inFeatures,
                        MemorySegment codes, MemorySegment scales, MemorySegment zeros) {
        if (bits != 4 && bits != 8) throw new IllegalArgumentException("packed bits must be 4 or 8, got " + bits);
        if (groupSize <= 0 || inFeatures % groupSize != 0) {
            throw new IllegalArgumentException("group size " + groupSize + " must divide in features " + inFeatures);
        }
        int groups = inFeatures / groupSize;
        check("codes", codes.byteSize(), (long) outFeatures * rowBytes(bits, inFeatures));
        check("scales", scales.byteSize(), (long) outFeatures * groups * 2);
        if (zeros != null) check("zero points", zeros.byteSize(), (long) outFeatures * groups);
        this.bits = bits;
        this.groupSize = groupSize;
        this.outFeatures = outFeatures;
        this.inFeatures = inFeatures;
        this.codes = codes;
        this.scales = scales;
        this.zeros = zeros;
    }

    private static void check(String what, long have, long need) {
        if (have != need) throw new IllegalArgumentException(what + " hold " + have + " bytes, expected " + need);
    }

    /** Bytes one packed row of {@code in} codes occupies. */
    public static int rowBytes(int bits, int in) {
        return bits == 8 ? in : (in + 1) / 2;
    }

    public int bits() { return bits; }

    public int groupSize() { return groupSize; }

    public int groups() { return inFeatures / groupSize; }

    public boolean symmetric() { return zeros == null; }

    public MemorySegment codes() { return codes; }

    public MemorySegment scales() { return scales; }

    /** Zero points, or null when symmetric. */
    public MemorySegment zeros() { return zeros; }

    @Override public int outFeatures() { return outFeatures; }

    @Override public int inFeatures() { return inFeatures; }

    /** The unsigned code at (row, col). */
    public int code(int row, int col) {
        long rb = (long) row * rowBytes(bits, inFeatures);
        if (bits == 8) return codes.get(ValueLayout.JAVA_BYTE, rb + col) & 0xff;
        int b = codes.get(ValueLayout.JAVA_BYTE, rb + (col >> 1)) & 0xff;
        return (col & 1) == 0 ? b & 0x0f : b >>> 4;
    }

    /** Scale of group g of row. */
    public float scale(int row, int g) {
        return Float.float16ToFloat(scales.getAtIndex(I16, (long) row * groups() + g));
    }

    /** Zero point of group g of row. */
    public int zero(int row, int g) {
        return zeros == null ? 1 << (bits - 1) : zeros.get(ValueLayout.JAVA_BYTE, (long) row * groups() + g) & 0xff;
    }

    /** Dequantizes one row: the plain reference every fast kernel is held against. */
    @Override
    public void row(int r, float[] dst, int off) {
        PackedGemm.dequantizeRow(r, inFeatures, bits, groupSize, codes, scales, zeros, dst, off);
    }

    @Override
    public void matmul(float[] x, int rows, float[] y) {
        PackedGemm.matmul(x, rows, inFeatures, bits, groupSize, codes, scales, zeros, outFeatures, y,
                this::decodeParams);
    }

    // Two threads racing here build equal copies; one wins, the other is garbage.
    private PackedGemm.DecodeParams decodeParams() {
        PackedGemm.DecodeParams p = decodeParams;
        if (p == null) {
            decodeParams = p = PackedGemm.decodeParams(inFeatures, bits, groupSize, scales, zeros, outFeatures);
        }
        return p;
    }

    @Override
    public float[] toFloat() {
        float[] w = new float[Math.multiplyExact(outFeatures, inFeatures)];
        for (int r = 0; r < outFeatures; r++) row(r, w, r * inFeatures);
        return w;
    }

    @Override
    public long storageBytes() {
        return codes.byteSize() + scales.byteSize() + (zeros == null ? 0 : zeros.byteSize());
    }

    @Override
    public String format() {
        return "int" + bits + (groupSize == inFeatures ? "" : "-g" + groupSize) + (zeros == null ? "-sym" : "");
    }
}
