package cptquant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The shared loop runner: every index exactly once, nesting, failures and concurrent callers. */
class ParallelTest {
    private final int initialThreads = Parallel.threads();

    @AfterEach
    void restore() {
        Parallel.setThreads(initialThreads);
    }

    @Test
    void everyIndexRunsExactlyOnce() {
        for (int threads = 1; threads <= 3; threads++) {
            Parallel.setThreads(threads);
            for (int n : new int[] {1, 2, 3, 17, 1000}) {
                for (int rep = 0; rep < 50; rep++) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(n);
                    Parallel.forRange(n, hits::incrementAndGet);
                    for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "index " + i + " of " + n + " with " + threads + " threads");
                }
            }
        }
    }

    @Test
    void nestedLoopsCompleteInline() {
        Parallel.setThreads(2);
        int[][] out = new int[40][30];
        Parallel.forRange(40, i -> Parallel.forRange(30, j -> out[i][j] = i * 30 + j));
        for (int i = 0; i < 40; i++) for (int j = 0; j < 30; j++) assertEquals(i * 30 + j, out[i][j]);
    }

    @Test
    void aFailureReachesTheCallerAndTheWorkersStayUsable() {
        Parallel.setThreads(2);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Parallel.forRange(1000, i -> { if (i == 500) throw new IllegalStateException("index 500"); }));
        assertEquals("index 500", e.getMessage());
        AtomicIntegerArray hits = new AtomicIntegerArray(100);
        Parallel.forRange(100, hits::incrementAndGet);
        for (int i = 0; i < 100; i++) assertEquals(1, hits.get(i));
    }

    @Test
    void concurrentCallersEachGetTheirWholeLoop() throws InterruptedException {
        Parallel.setThreads(2);
        long[][] sums = new long[4][1];
        Thread[] callers = new Thread[4];
        for (int c = 0; c < callers.length; c++) {
            int id = c;
            callers[c] = new Thread(() -> {
                for (int rep = 0; rep < 200; rep++) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(64);
                    Parallel.forRange(64, hits::incrementAndGet);
                    for (int i = 0; i < 64; i++) sums[id][0] += hits.get(i);
                }
            });
            callers[c].start();
        }
        for (Thread t : callers) t.join();
        long[] want = new long[4];
        java.util.Arrays.fill(want, 200L * 64);
        assertArrayEquals(want, java.util.Arrays.stream(sums).mapToLong(s -> s[0]).toArray());
    }
}
