package cptquant.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
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

    /**
     * One loop. [0, n) is cut into one contiguous segment per thread; each thread takes indices from the
     * front of its own segment, then helps with the others'. Handing out indices from one shared counter
     * interleaved the threads' chunks, so neither streamed through contiguous memory: on decoding's weight
     * reads that ran 1.2x slower than each thread walking its own half.
     */
    private static final class Job {
        private static final int CLOSED = 1 << 30;
        /** Ints between two segments' counters, so that threads do not share their cache lines. */
        private static final int PAD = 16;
        final int n;
        final IntConsumer body;
        final Thread caller = Thread.currentThread();
        private final int segments;
        /** Segment s's next index, at s * PAD; segment s ends where s + 1 begins. */
        private final AtomicIntegerArray next;
        /** Workers inside the loop, plus CLOSED once the caller has finished its share. */
        final AtomicInteger inside = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(int n, IntConsumer body, int segments) {
            this.n = n;
            this.body = body;
            this.segments = segments;
            this.next = new AtomicIntegerArray(segments * PAD);
            for (int t = 0; t < segments; t++) next.set(t * PAD, start(t));
        }

        private int start(int segment) { return (int) ((long) n * segment / segments); }

        /** Works through segment {@code own}, then the ones after it. */
        void work(int own) {
            try {
                for (int k = 0; k < segments; k++) {
                    int t = (own + k) % segments, end = start(t + 1);
                    for (int i = next.getAndIncrement(t * PAD); i < end; i = next.getAndIncrement(t * PAD)) {
                        body.accept(i);
                    }
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                for (int u = 0; u < segments; u++) next.set(u * PAD, n); // the others stop taking indices
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
                int slot = t + 1;
                pool[t] = Thread.ofPlatform().daemon().name("cptquant-kernel-" + slot).unstarted(() -> loop(slot));
                pool[t].start();
            }
        }

        void run(int n, IntConsumer body) {
            Job j = new Job(n, body, threads);
            job = j;
            if (parked.get() > 0) for (Thread t : pool) LockSupport.unpark(t);
            INSIDE.set(true);
            try {
                j.work(0);
            } finally {
                INSIDE.set(false);
            }
            j.finish();
        }

        /** A worker's life; {@code slot} is the segment of each loop it starts on (the caller's is 0). */
        private void loop(int slot) {
            INSIDE.set(true);
            Job seen = null;
            long idleSince = System.nanoTime();
            while (!shutdown) {
                Job j = job;
                if (j != seen) {
                    seen = j;
                    if (j.enter()) {
                        j.work(slot);
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
