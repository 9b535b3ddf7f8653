package cptquant.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The plain definition of {@link Gemm}, accumulated in double: the oracle its tests compare against. */
public final class GemmReference {
    private GemmReference() {}

    /** c[i][j] = sum_p a[i][p] * b[j][p] with the layouts of {@link Gemm#matmulTransB}. */
    public static void matmulTransB(float[] a, int m, int k, MemorySegment b, int n, float[] c) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += (double) a[i * k + p] * b.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) j * k + p);
                }
                c[i * n + j] = (float) s;
            }
        }
    }
}
