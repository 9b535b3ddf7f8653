package cptquant.kernel;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The fast GEMM and GEMV paths against the double-precision definition, on edge and odd shapes. */
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
        "1,1,1", "3,17,5", "1,768,65", "2,33,40", "4,16,16", "7,100,31", "5,2100,9", // GEMV path (k blocked past 1024)
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

    @ParameterizedTest
    @CsvSource({"5,0,3", "0,4,3", "3,4,0"})
    void emptyDimensionsGiveZerosOrNothing(int m, int k, int n) {
        float[] c = new float[m * n];
        java.util.Arrays.fill(c, 7f);
        Gemm.matmulTransB(new float[m * k], m, k, new float[n * k], n, c);
        for (float v : c) assertTrue(v == 0f);
    }
}
