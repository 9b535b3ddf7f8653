package cptquant.bench;

import cptquant.kernel.Gemm;
import cptquant.kernel.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.concurrent.atomic.DoubleAdder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Throughput of the FP32 GEMM and of streaming memory reads: the two ceilings model speed sits under. */
public final class KernelBench {
    private KernelBench() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** GFLOPS (2mnk per multiply) of {@link Gemm#matmulTransB} on random data, median of {@code reps}. */
    public static double gemmGflops(int m, int k, int n, int reps) {
        Random r = new Random(1);
        float[] a = new float[m * k];
        float[] b = new float[n * k];
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - 0.5f;
        for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - 0.5f;
        float[] c = new float[m * n];
        try (Arena arena = Arena.ofShared()) {
            MemorySegment w = arena.allocate((long) b.length * Float.BYTES, 64);
            MemorySegment.copy(b, 0, w, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, b.length);
            double ms = Timing.medianMillis(Math.max(2, reps / 2), reps, () -> Gemm.matmulTransB(a, m, k, w, n, c));
            return 2.0 * m * n * k / (ms * 1e6);
        }
    }

    /** Read bandwidth in GB/s: a 1 GiB off-heap buffer summed with vector loads on all kernel threads. */
    public static double memoryBandwidthGBs() {
        long bytes = 1L << 30;
        int chunks = 256;
        long chunkBytes = bytes / chunks;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(bytes, 64);
            buf.fill((byte) 1);
            DoubleAdder sink = new DoubleAdder();
            double ms = Timing.medianMillis(2, 5, () -> Parallel.forRange(chunks, ch -> {
                FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
                long step = F.vectorByteSize();
                long end = (ch + 1) * chunkBytes;
                for (long o = ch * chunkBytes; o < end; o += 4 * step) {
                    s0 = s0.add(FloatVector.fromMemorySegment(F, buf, o, ByteOrder.LITTLE_ENDIAN));
                    s1 = s1.add(FloatVector.fromMemorySegment(F, buf, o + step, ByteOrder.LITTLE_ENDIAN));
                    s2 = s2.add(FloatVector.fromMemorySegment(F, buf, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
                    s3 = s3.add(FloatVector.fromMemorySegment(F, buf, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
                }
                sink.add(s0.add(s1).add(s2).add(s3).reduceLanes(VectorOperators.ADD));
            }));
            if (Double.isNaN(sink.sum())) throw new IllegalStateException("unreachable: keeps the sum live");
            return bytes / (ms * 1e6);
        }
    }

    /** Prints GEMM GFLOPS at a BERT-base FFN shape and a decode shape, and the read bandwidth. */
    public static void main(String[] args) {
        System.out.printf("threads %d, vector %d floats%n", Parallel.threads(), F.length());
        System.out.printf("gemm 2048x768x3072: %.1f GFLOPS%n", gemmGflops(2048, 768, 3072, 5));
        System.out.printf("gemm 512x768x768:   %.1f GFLOPS%n", gemmGflops(512, 768, 768, 9));
        System.out.printf("gemv 1x768x3072:    %.1f GFLOPS%n", gemmGflops(1, 768, 3072, 51));
        System.out.printf("gemv 4x4096x4096:   %.1f GFLOPS%n", gemmGflops(4, 4096, 4096, 21));
        System.out.printf("memory read:        %.1f GB/s%n", memoryBandwidthGBs());
    }
}
