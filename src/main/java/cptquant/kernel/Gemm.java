package cptquant.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Matrix multiply kernels. Placeholder scalar implementation; see GemmReference for the oracle. */
public final class Gemm {
    private Gemm() {}

    /**
     * c[i][j] = sum_p a[i][p] * b[j][p]: a is m x k (row-major heap array), b is n x k F32 little-endian
     * (row-major; the PyTorch Linear layout), c is m x n (overwritten).
     */
    public static void matmulTransB(float[] a, int m, int k, MemorySegment b, int n, float[] c) {
        Parallel.forRange(m, i -> {
            for (int j = 0; j < n; j++) {
                float s = 0;
                long base = (long) j * k;
                for (int p = 0; p < k; p++) s += a[i * k + p] * b.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, base + p);
                c[i * n + j] = s;
            }
        });
    }
}
