package cptquant.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.BiFunction;
import java.util.function.IntFunction;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The in-register 16-bit widenings against the JDK's scalar conversions, on every 16-bit pattern. */
class FloatFormatTest {

    private static final int L = FloatVector.SPECIES_PREFERRED.length();

    /** All 65536 bit patterns in order, as a little-endian 16-bit segment. */
    private static MemorySegment allPatterns() {
        MemorySegment s = MemorySegment.ofArray(new short[1 << 16]);
        for (int h = 0; h < 1 << 16; h++) s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, h, (short) h);
        return s;
    }

    /** floatToIntBits, not the raw bits: every value exact (signed zeros, subnormals, infinities), NaN as NaN. */
    private static void assertSame(float want, float got, int h, String what) {
        assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got),
                what + " of 0x" + Integer.toHexString(h) + ": want " + want + ", got " + got);
    }

    private static float f16(int h) { return Float.float16ToFloat((short) h); }

    private static float bf16(int h) { return Float.intBitsToFloat(h << 16); }

    private static void checkLoads(BiFunction<MemorySegment, Long, FloatVector> load, IntFunction<Float> want,
                                   String what) {
        MemorySegment s = allPatterns();
        for (int i = 0; i < 1 << 16; i += L) {
            float[] got = load.apply(s, (long) i).toArray();
            for (int q = 0; q < L; q++) assertSame(want.apply(i + q), got[q], i + q, what + " lane " + q);
        }
    }

    @Test
    void f16WideningIsExactForEveryHalf() {
        checkLoads(FloatFormat::loadF16, FloatFormatTest::f16, "F16");
    }

    @Test
    void bf16WideningIsExactForEveryPattern() {
        checkLoads(FloatFormat::loadBF16, FloatFormatTest::bf16, "BF16");
    }

    @Test
    void scalarGetIsTheJdkConversion() {
        MemorySegment s = allPatterns();
        for (int h = 0; h < 1 << 16; h++) {
            assertSame(f16(h), FloatFormat.F16.get(s, h), h, "F16 get");
            assertSame(bf16(h), FloatFormat.BF16.get(s, h), h, "BF16 get");
        }
    }

    @Test
    void rangeGetMatchesElementGet() {
        MemorySegment s = allPatterns();
        for (FloatFormat f : FloatFormat.values()) {
            int len = (int) (s.byteSize() / f.bytes()) - 10;
            float[] dst = new float[len + 3];
            f.get(s, 7, dst, 3, len - 7);
            for (int t = 0; t < len - 7; t++) assertSame(f.get(s, 7 + t), dst[3 + t], 7 + t, f + " range get");
        }
    }
}
