package cptquant.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The worker threads all kernels share; their number is set once from --threads (default: all cores).
 *
 * <p>A decoded token runs some eighty short loops (a GEMV of a 768 x 768 weight takes ~30 us), so the
 * cost of starting a loop matters as much as the loop: handing it to a ForkJoinPool and waiting cost
 * ~15-20 us, mostly waking a parked worker. Here the caller works on its own loop, workers spin for a
 * while after each loop before they park (as OpenMP runtimes do), and a worker that arrives after the
 * caller has finished the last index is not waited for.
 */
public final class Parallel {
    private static volatile Workers workers = new Workers(Runtime.getRuntime().availableProcessors());
    /** Set while a thread works through a loop: loops it starts meanwhile run inline. */
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);

    private Parallel() {}

    /** Number of threads kernels split work over (the caller and the workers). */
    public static int threads() { return workers.threads; }

    /** Replaces the workers with {@code n - 1} of them, so loops run on {@code n} threads. */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("--threads must be >= 1, got " + n);
        if (n == workers.threads) return;
        Workers old = workers;
        workers = new Workers(n);
        old.shutdown();
    }

    /**
     * Runs body(i) for i in [0, n), split over the threads; runs inline when n == 1, with one thread, when
     * called from inside another parallel loop (a kernel inside a parallel loop, e.g. the GEMMs of one
     * attention head: the outer loop already keeps every thread busy), or while another thread's loop holds
     * the workers.
     */
    public static void forRange(int n, IntConsumer body) {
        if (n <= 0) return;
        Workers w = workers;
        if (n == 1 || w.threads == 1 || INSIDE.get() || !w.lock.tryLock()) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        try {
            w.run(n, body);
        } finally {
            w.lock.unlock();
        }
    }

    /** One loop: indices are taken from a shared counter by the caller and whichever workers join. */
    private static final class Job {
        private static final int CLOSED = 1 << 30;
        final int n;
        final IntConsumer body;
        final Thread caller = Thread.currentThread();
        final AtomicInteger next = new AtomicInteger();
        /** Workers inside the loop, plus CLOSED once the caller has finished its share. */
        final AtomicInteger inside = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(int n, IntConsumer body) {
            this.n = n;
            this.body = body;
        }

        void work() {
            try {
                for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) body.accept(i);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                next.set(n); // the others stop taking indices
            }
        }

        /** A worker joins unless the caller has already finished; false when it is too late. */
        boolean enter() {
            for (int s = inside.get(); (s & CLOSED) == 0; s = inside.get()) {
                if (inside.compareAndSet(s, s + 1)) return true;
            }
            return false;
        }

        void leave() {
            if (inside.decrementAndGet() == CLOSED) LockSupport.unpark(caller);
        }

        /** Closes the loop to late workers and waits for those inside; then rethrows any failure. */
        void finish() {
            if (inside.getAndAdd(CLOSED) != 0) {
                for (int spins = 0; inside.get() != CLOSED; spins++) {
                    if (spins < 1 << 14) Thread.onSpinWait();
                    else LockSupport.parkNanos(this, 50_000);
                }
            }
            Throwable t = failure.get();
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new IllegalStateException(t);
        }
    }

    /** threads - 1 daemon workers that spin, then park, waiting for the next job. */
    private static final class Workers {
        /** How long an idle worker spins before it parks: longer than the gap between a token's loops. */
        private static final long SPIN_NANOS = 50_000;
        final int threads;
        final ReentrantLock lock = new ReentrantLock();
        private final Thread[] pool;
        /** Workers parked or about to park: the caller unparks them only when there are any. */
        private final AtomicInteger parked = new AtomicInteger();
        private volatile Job job;
        private volatile boolean shutdown;

        Workers(int threads) {
            this.threads = threads;
            this.pool = new Thread[threads - 1];
            for (int t = 0; t < pool.length; t++) {
                pool[t] = Thread.ofPlatform().daemon().name("cptquant-kernel-" + (t + 1)).unstarted(this::loop);
                pool[t].start();
            }
        }

        void run(int n, IntConsumer body) {
            Job j = new Job(n, body);
            job = j;
            if (parked.get() > 0) for (Thread t : pool) LockSupport.unpark(t);
            INSIDE.set(true);
            try {
                j.work();
            } finally {
                INSIDE.set(false);
            }
            j.finish();
        }

        private void loop() {
            INSIDE.set(true);
            Job seen = null;
            long idleSince = System.nanoTime();
            while (!shutdown) {
                Job j = job;
                if (j != seen) {
                    seen = j;
                    if (j.enter()) {
                        j.work();
                        j.leave();
                    }
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    // Counted before the last look at job, so a caller publishing a job after that look
                    // sees the count and unparks us.
                    parked.incrementAndGet();
                    if (job == seen && !shutdown) LockSupport.park(this);
                    parked.decrementAndGet();
                    idleSince = System.nanoTime();
                }
            }
        }

        void shutdown() {
            shutdown = true;
            for (Thread t : pool) LockSupport.unpark(t);
        }
    }
}
