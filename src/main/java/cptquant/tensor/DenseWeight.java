package cptquant.tensor;

import cptquant.kernel.FloatFormat;
import cptquant.kernel.Gemm;
import java.lang.foreign.MemorySegment;

/**
 * A dense F32, F16 or BF16 weight matrix over a memory segment: a heap array, an off-heap buffer, or a
 * memory-mapped region of a checkpoint file (so models larger than the Java heap load without copying).
 * Elements are little-endian, row-major out x in. 16-bit weights stay 16-bit: the kernels widen them as
 * they read, so a loaded weight occupies its stored size.
 */
public final class DenseWeight implements Weight {
    private final DType dtype;
    private final FloatFormat floatFormat;
    private final int outFeatures;
    private final int inFeatures;
    private final MemorySegment data;

    /** Wraps {@code data} (little-endian, row-major out x in) without copying. */
    public DenseWeight(DType dtype, int outFeatures, int inFeatures, MemorySegment data) {
        this.floatFormat = switch (dtype) {
            case F32 -> FloatFormat.F32;
            case F16 -> FloatFormat.F16;
            case BF16 -> FloatFormat.BF16;
            default -> throw new IllegalArgumentException("dense weight dtype must be F32, F16 or BF16, got " + dtype);
        };
        long need = (long) outFeatures * inFeatures * dtype.bytes();
        if (data.byteSize() != need) {
            throw new IllegalArgumentException("weight " + outFeatures + "x" + inFeatures + " " + dtype
                    + " needs " + need + " bytes, segment has " + data.byteSize());
        }
        this.dtype = dtype;
        this.outFeatures = outFeatures;
        this.inFeatures = inFeatures;
        this.data = data;
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
        Gemm.matmulTransB(x, rows, inFeatures, data, floatFormat, outFeatures, y);
    }

    @Override
    public void row(int r, float[] dst, int off) {
        floatFormat.get(data, (long) r * inFeatures, dst, off, inFeatures);
    }

    @Override
    public float[] toFloat() {
        float[] out = new float[Math.multiplyExact(outFeatures, inFeatures)];
        floatFormat.get(data, 0, out, 0, out.length);
        return out;
    }

    @Override
    public long storageBytes() { return data.byteSize(); }

    @Override
    public String format() { return dtype.name().toLowerCase(java.util.Locale.ROOT); }
}
