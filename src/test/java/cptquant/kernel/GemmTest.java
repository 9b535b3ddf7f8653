package cptquant.kernel;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The fast GEMM and GEMV paths against the double-precision definition: edge and odd shapes, every weight format. */
class GemmTest {

    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    /** Worst |c - ref| relative to sum_p |a[i][p] b[j][p]|, the scale rounding error grows with. */
    static double worstRelativeError(float[] a, int m, int k, float[] b, int n, float[] c) {
        float[] ref = new float[m * n];
        GemmReference.matmulTransB(a, m, k, MemorySegment.ofArray(b), n, ref);
        double worst = 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double scale = 0;
                for (int p = 0; p < k; p++) scale += Math.abs((double) a[i * k + p] * b[j * k + p]);
                worst = Math.max(worst, Math.abs(c[i * n + j] - ref[i * n + j]) / (scale + 1e-30));
            }
        }
        return worst;
    }

    @ParameterizedTest
    @CsvSource({
        "1,1,1", "3,17,5", "1,768,65", "1,16,3", "1,2100,9", "2,33,40", "4,16,16", "7,100,31", "5,2100,9", // GEMV path (k blocked past 1024)
        "8,1,1", "37,769,65", "9,257,33", "96,256,64", "100,300,97", "193,513,545", "12,1024,32", // GEMM path
    })
    void matchesReferenceOnHeapAndOffHeapWeights(int m, int k, int n) {
        float[] a = random(m * k, m * 31L + k);
        float[] b = random(n * k, n * 17L + k);
        float[] c = random(m * n, 5); // garbage that must be overwritten
        Gemm.matmulTransB(a, m, k, b, n, c);
        assertTrue(worstRelativeError(a, m, k, b, n, c) < 1e-5, "heap b: " + m + "x" + k + "x" + n);

        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate((long) n * k * Float.BYTES, 64);
            MemorySegment.copy(b, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, n * k);
            float[] c2 = random(m * n, 6);
            Gemm.matmulTransB(a, m, k, seg, n, c2);
            assertTrue(worstRelativeError(a, m, k, b, n, c2) < 1e-5, "off-heap b: " + m + "x" + k + "x" + n);
        }
    }

    /**
     * 16-bit weight bits: mostly Gaussian, with signed zeros, subnormals and values near the top of the
     * half range mixed in.
     */
    static short[] randomHalfBits(FloatFormat format, int n, long seed) {
        Random r = new Random(seed);
        short[] h = new short[n];
        for (int i = 0; i < n; i++) {
            int sign = r.nextBoolean() ? 0x8000 : 0;
            h[i] = (short) switch (r.nextInt(20)) {
                case 0 -> sign; // zero
                case 1 -> sign | (1 + r.nextInt(format == FloatFormat.F16 ? 0x3ff : 0x7f)); // subnormal
                case 2 -> bits(format, (sign != 0 ? -1 : 1) * (30000 + 35000 * r.nextFloat())); // large
                default -> bits(format, (float) r.nextGaussian());
            };
        }
        return h;
    }

    private static int bits(FloatFormat format, float v) {
        return format == FloatFormat.F16 ? Float.floatToFloat16(v) : Float.floatToRawIntBits(v) >>> 16;
    }

    static float widen(FloatFormat format, short h) {
        return format == FloatFormat.F16 ? Float.float16ToFloat(h) : Float.intBitsToFloat((h & 0xffff) << 16);
    }

    static Stream<Arguments> halfShapes() {
        Stream.Builder<Arguments> shapes = Stream.builder();
        for (FloatFormat f : new FloatFormat[] {FloatFormat.F16, FloatFormat.BF16}) {
            for (int m : new int[] {1, 3, 4, 5, 7, 8, 13, 64}) { // GEMV below 8 rows, GEMM from 8
                for (int k : new int[] {37, 773}) {
                    for (int n : new int[] {1, 7, 130}) shapes.add(Arguments.of(f, m, k, n));
                }
            }
            shapes.add(Arguments.of(f, 3, 2100, 7)); // GEMV K blocks
            shapes.add(Arguments.of(f, 1, 2100, 7)); // one row: whole b rows, no K blocks
            shapes.add(Arguments.of(f, 2, 64, 5)); // whole vectors only, no scalar tail
        }
        return shapes.build();
    }

    @ParameterizedTest
    @MethodSource("halfShapes")
    void sixteenBitWeightsMatchReferenceOnWidenedCopy(FloatFormat format, int m, int k, int n) {
        float[] a = random(m * k, m * 31L + k);
        short[] h = randomHalfBits(format, n * k, n * 17L + k);
        float[] wide = new float[h.length];
        for (int i = 0; i < h.length; i++) wide[i] = widen(format, h[i]);
        float[] c = random(m * n, 5); // garbage that must be overwritten
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate((long) n * k * 2, 64);
            MemorySegment.copy(h, 0, seg, ValueLayout.JAVA_SHORT_UNALIGNED, 0, h.length);
            Gemm.matmulTransB(a, m, k, seg, format, n, c);
        }
        assertTrue(worstRelativeError(a, m, k, wide, n, c) < 1e-5, format + " " + m + "x" + k + "x" + n);
    }

    @ParameterizedTest
    @CsvSource({"5,0,3", "0,4,3", "3,4,0"})
    void emptyDimensionsGiveZerosOrNothing(int m, int k, int n) {
        float[] c = new float[m * n];
        java.util.Arrays.fill(c, 7f);
        Gemm.matmulTransB(new float[m * k], m, k, new float[n * k], n, c);
        for (float v : c) assertTrue(v == 0f);
    }
}
