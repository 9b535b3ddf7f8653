package cptquant.tensor;

import cptquant.kernel.Gemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A dense F32, F16 or BF16 weight matrix over a memory segment: a heap array, an off-heap buffer, or a
 * memory-mapped region of a checkpoint file (so models larger than the Java heap load without copying).
 * Elements are little-endian, row-major out x in.
 */
public final class DenseWeight implements Weight {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final DType dtype;
    private final int outFeatures;
    private final int inFeatures;
    private final MemorySegment data;
    private volatile MemorySegment f32;

    /** Wraps {@code data} (little-endian, row-major out x in) without copying. */
    public DenseWeight(DType dtype, int outFeatures, int inFeatures, MemorySegment data) {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("dense weight dtype must be F32, F16 or BF16, got " + dtype);
        }
        long need = (long) outFeatures * inFeatures * dtype.bytes();
        if (data.byteSize() != need) {
            throw new IllegalArgumentException("weight " + outFeatures + "x" + inFeatures + " " + dtype
                    + " needs " + need + " bytes, segment has " + data.byteSize());
        }
        this.dtype = dtype;
        this.outFeatures = outFeatures;
        this.inFeatures = inFeatures;
        this.data = data;
        this.f32 = dtype == DType.F32 ? data : null;
    }

    /** An F32 weight over a heap copy of {@code w} (row-major out x in). */
    public static DenseWeight ofFloats(float[] w, int out, int in) {
        return new DenseWeight(DType.F32, out, in, MemorySegment.ofArray(w.clone()));
    }

    public DType dtype() { return dtype; }

    @Override public int outFeatures() { return outFeatures; }

    @Override public int inFeatures() { return inFeatures; }

    /** The stored bytes, as given to the constructor. */
    public MemorySegment data() { return data; }

    @Override
    public void matmul(float[] x, int rows, float[] y) {
        Gemm.matmulTransB(x, rows, inFeatures, asF32(), outFeatures, y);
    }

    /**
     * This weight as an F32 segment: the data itself when F32, else converted once into off-heap memory,
     * so the GEMM kernel sees one layout.
     */
    public MemorySegment asF32() {
        MemorySegment s = f32;
        if (s == null) {
            synchronized (this) {
                s = f32;
                if (s == null) {
                    long n = (long) outFeatures * inFeatures;
                    s = Arena.ofAuto().allocate(n * 4, 64);
                    for (long i = 0; i < n; i++) s.setAtIndex(F32_LE, i, element(i));
                    f32 = s;
                }
            }
        }
        return s;
    }

    /** Element i (row-major) as float. */
    public float element(long i) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32_LE, i);
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16_LE, i));
            case BF16 -> Float.intBitsToFloat((data.getAtIndex(I16_LE, i) & 0xffff) << 16);
            default -> throw new IllegalStateException(dtype.name());
        };
    }

    @Override
    public float[] toFloat() {
        float[] out = new float[Math.multiplyExact(outFeatures, inFeatures)];
        MemorySegment.copy(asF32(), F32_LE, 0, out, 0, out.length);
        return out;
    }

    @Override
    public long storageBytes() { return data.byteSize(); }

    @Override
    public String format() { return dtype.name().toLowerCase(java.util.Locale.ROOT); }
}
