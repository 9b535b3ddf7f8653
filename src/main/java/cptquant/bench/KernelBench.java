package cptquant.bench;

import cptquant.kernel.FloatFormat;
import cptquant.kernel.Gemm;
import cptquant.kernel.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.concurrent.atomic.DoubleAdder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Throughput of the FP32 GEMM, of the decode GEMV per weight format, and of streaming memory reads: the
 * ceilings model speed sits under.
 */
public final class KernelBench {
    private KernelBench() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** GFLOPS (2mnk per multiply) of {@link Gemm#matmulTransB} on random data, median of {@code reps}. */
    public static double gemmGflops(int m, int k, int n, int reps) {
        return gemmRate(m, k, n, reps).wallGflops();
    }

    /**
     * Wall-clock GFLOPS, and GFLOPS per second of process CPU time: on a machine shared with other
     * jobs the second (times the thread count) estimates what the kernel does on idle cores. It undercounts
     * for short calls, where pool threads spin between tasks.
     */
    record Rate(double wallGflops, double gflopsPerCpuSecond) {}

    static Rate gemmRate(int m, int k, int n, int reps) {
        Random r = new Random(1);
        float[] a = new float[m * k];
        float[] b = new float[n * k];
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - 0.5f;
        for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - 0.5f;
        float[] c = new float[m * n];
        int warmup = Math.max(2, reps / 2);
        double flops = 2.0 * m * n * k;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment w = arena.allocate((long) b.length * Float.BYTES, 64);
            MemorySegment.copy(b, 0, w, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, b.length);
            Timing.Action multiply = () -> Gemm.matmulTransB(a, m, k, w, n, c);
            Timing.medianMillis(0, warmup, multiply); // warm-up apart, so JIT time stays out of the CPU count
            long cpu0 = processCpuNanos();
            double ms = Timing.medianMillis(0, reps, multiply);
            double cpuSeconds = (processCpuNanos() - cpu0) / 1e9;
            return new Rate(flops / (ms * 1e6), flops * reps / cpuSeconds / 1e9);
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /**
     * Weight bytes per second (GB/s) the one-row GEMV streams over a random n x k weight stored in
     * {@code format}, median of {@code reps}: 16-bit weights hold half the bytes, so at the same rate they
     * decode twice as fast.
     */
    public static double gemvGBs(FloatFormat format, int k, int n, int reps) {
        Random r = new Random(1);
        float[] a = new float[k];
        for (int i = 0; i < k; i++) a[i] = r.nextFloat() - 0.5f;
        float[] c = new float[n];
        try (Arena arena = Arena.ofShared()) {
            long count = (long) n * k;
            MemorySegment w = arena.allocate(count * format.bytes(), 64);
            for (long i = 0; i < count; i++) {
                float v = (r.nextFloat() - 0.5f) / 16;
                switch (format) {
                    case F32 -> w.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                    case F16 -> w.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16(v));
                    case BF16 -> w.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i,
                            (short) (Float.floatToRawIntBits(v) >>> 16));
                }
            }
            double ms = Timing.medianMillis(Math.max(5, reps / 2), reps,
                    () -> Gemm.matmulTransB(a, 1, k, w, format, n, c));
            return w.byteSize() / (ms * 1e6);
        }
    }

    /**
     * Read bandwidth in GB/s: a 256 MiB off-heap buffer (eight times this machine's last-level cache) summed
     * with vector loads on all kernel threads, the best of ten passes (the median let FP32 decoding read
     * faster than the "bandwidth" measured beside it).
     */
    public static double memoryBandwidthGBs() {
        long bytes = 1L << 28;
        int chunks = 64;
        long chunkBytes = bytes / chunks;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(bytes, 64);
            buf.fill((byte) 1);
            DoubleAdder sink = new DoubleAdder();
            double ms = Timing.bestMillis(2, 10, () -> Parallel.forRange(chunks, ch -> {
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

    /**
     * Prints GEMM GFLOPS at a BERT-base FFN shape and decode shapes, the LM-head GEMV's GB/s per weight
     * format, and the read bandwidth.
     */
    public static void main(String[] args) {
        System.out.printf("threads %d, vector %d floats%n", Parallel.threads(), F.length());
        int[][] shapes = {{2048, 768, 3072}, {512, 768, 768}, {1, 768, 3072}, {4, 4096, 4096}};
        int[] reps = {7, 11, 51, 21};
        for (int s = 0; s < shapes.length; s++) {
            int m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
            Rate rate = gemmRate(m, k, n, reps[s]);
            System.out.printf("%s %dx%dx%d: %.1f GFLOPS wall, %.1f GFLOPS per CPU-second%n",
                    m < 8 ? "gemv" : "gemm", m, k, n, rate.wallGflops(), rate.gflopsPerCpuSecond());
        }
        for (FloatFormat format : FloatFormat.values()) { // the OPT-125M LM head
            System.out.printf("gemv 1x768x50272 %-4s: %.1f GB/s of weights%n", format, gemvGBs(format, 768, 50272, 21));
        }
        System.out.printf("memory read:        %.1f GB/s%n", memoryBandwidthGBs());
    }
}
