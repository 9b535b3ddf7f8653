package cptquant.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Floating-point formats a dense weight can be stored in (little-endian). The kernels read 16-bit weights
 * as stored and widen them in registers ({@link #loadF16}, {@link #loadBF16}), so they are never expanded
 * to FP32 in memory; {@link #get} is the plain element-wise conversion those are tested against.
 */
public enum FloatFormat {
    /** IEEE binary32. */
    F32(4),
    /** IEEE binary16 (half). */
    F16(2),
    /** bfloat16: the upper half of a binary32. */
    BF16(2);

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    /** As many 16-bit lanes as F has floats, so one load widens to exactly one float vector. */
    private static final VectorSpecies<Short> S =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * Short.SIZE));
    private static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int bytes;

    FloatFormat(int bytes) { this.bytes = bytes; }

    /** Size of one element in bytes. */
    public int bytes() { return bytes; }

    /** Element {@code i} of {@code s} as float. */
    public float get(MemorySegment s, long i) {
        return switch (this) {
            case F32 -> s.getAtIndex(F32_LE, i);
            case F16 -> Float.float16ToFloat(s.getAtIndex(I16_LE, i));
            case BF16 -> Float.intBitsToFloat((s.getAtIndex(I16_LE, i) & 0xffff) << 16);
        };
    }

    /** Elements [i, i + len) of {@code s} into dst[off, off + len). */
    public void get(MemorySegment s, long i, float[] dst, int off, int len) {
        if (this == F32) {
            MemorySegment.copy(s, F32_LE, i * Float.BYTES, dst, off, len);
        } else {
            for (int t = 0; t < len; t++) dst[off + t] = get(s, i + t);
        }
    }

    /** The {@code FloatVector.SPECIES_PREFERRED.length()} F16 elements from element {@code i} as floats. */
    static FloatVector loadF16(MemorySegment s, long i) {
        return halfToFloat(load16(s, i));
    }

    /** The {@code FloatVector.SPECIES_PREFERRED.length()} BF16 elements from element {@code i} as floats. */
    static FloatVector loadBF16(MemorySegment s, long i) {
        return load16(s, i).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** 16-bit elements sign-extended into int lanes: BF16 shifts the extension out, F16 uses it for the sign. */
    private static IntVector load16(MemorySegment s, long i) {
        return (IntVector) ShortVector.fromMemorySegment(S, s, i * 2, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.S2I, I, 0);
    }

    /**
     * IEEE half bits, sign-extended in int lanes, to floats, exactly. Shifted left by 13 the exponent and
     * mantissa sit where a float's do and the sign lands on bit 31 (the sign copies in between are
     * cleared), so the bits read as the half's value times 2^-112, and multiplying by 2^112 rebiases the
     * exponent, normalises subnormal halves (subnormal float operands measured no slower on the AMD EPYC)
     * and keeps zeros signed. Infinities and NaNs (exponent 31) get
     * the float exponent all ones first, so the multiply leaves them infinite or NaN (quieted, as
     * {@link Float#float16ToFloat} does). Eight vector operations: the integer rebias with separate blends
     * for zeros, subnormals and infinities measured 1.7x slower (the one-row F16 GEMV streams about 17 GB/s
     * per core with this one). Every Vector API call also costs C2 some hundreds of IR nodes while parsing,
     * and the GEMV loop holds two of these conversions within its inlining budget.
     */
    private static FloatVector halfToFloat(IntVector h) {
        IntVector o = h.lanewise(VectorOperators.LSHL, 13).and(0x8fffe000);
        VectorMask<Integer> infOrNaN = o.and(0x0f800000).eq(0x0f800000);
        return o.lanewise(VectorOperators.OR, 0x70000000, infOrNaN).reinterpretAsFloats().mul(0x1p112f);
    }
}
