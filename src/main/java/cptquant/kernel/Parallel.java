package cptquant.kernel;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** The one thread pool all kernels share; its size is set once from --threads (default: all cores). */
public final class Parallel {
    private static volatile ForkJoinPool pool = new ForkJoinPool(Runtime.getRuntime().availableProcessors());

    private Parallel() {}

    /** Number of worker threads kernels split work over. */
    public static int threads() { return pool.getParallelism(); }

    /** Replaces the pool with one of {@code n} threads. */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("--threads must be >= 1, got " + n);
        if (n == pool.getParallelism()) return;
        ForkJoinPool old = pool;
        pool = new ForkJoinPool(n);
        old.shutdown();
    }

    /**
     * Runs body(i) for i in [0, n), split over the pool; runs inline when n == 1, with one thread, or when
     * called from one of the pool's own workers (a kernel inside a parallel loop, e.g. the GEMMs of one
     * attention head): the outer loop already keeps every thread busy, and nesting would only add overhead.
     */
    public static void forRange(int n, IntConsumer body) {
        if (n <= 0) return;
        if (n == 1 || threads() == 1
                || Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == pool) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        pool.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }
}
