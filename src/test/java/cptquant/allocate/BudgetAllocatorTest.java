package cptquant.allocate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.allocate.BudgetAllocator.Allocation;
import cptquant.allocate.BudgetAllocator.Choices;
import cptquant.allocate.BudgetAllocator.Option;
import cptquant.quant.QuantSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class BudgetAllocatorTest {
    static final int GROUP = 128;

    /** Exact bytes of a spec for out x in weights: codes plus FP16 scale and byte zero point per group. */
    static long bytes(int bits, int out, int in) {
        if (bits == 16) return 2L * out * in;
        return (long) out * (bits == 8 ? in : (in + 1) / 2) + 3L * out * (in / GROUP);
    }

    static Option option(int bits, int out, int in, double loss) {
        return new Option(QuantSpec.of(bits, GROUP), bytes(bits, out, in), loss);
    }

    /** A random instance: units of a few shapes (so byte totals repeat), random losses. */
    static List<Choices> instance(Random rnd, int units, int maxOptions) {
        int[][] shapes = {{128, 128}, {256, 128}, {128, 384}, {384, 256}};
        int[] bitsLevels = {4, 8, 16};
        List<Choices> list = new ArrayList<>();
        for (int u = 0; u < units; u++) {
            int[] s = shapes[rnd.nextInt(shapes.length)];
            int k = 1 + rnd.nextInt(maxOptions);
            List<Option> opts = new ArrayList<>();
            for (int o = 0; o < k; o++) {
                int bits = bitsLevels[rnd.nextInt(3)];
                double loss = rnd.nextInt(4) == 0 ? rnd.nextInt(3) : rnd.nextDouble() * (20 - bits);
                opts.add(option(bits, s[0], s[1], loss));
            }
            list.add(new Choices("layers." + u, (long) s[0] * s[1], opts));
        }
        return list;
    }

    /** Every plan's (bytes, loss), losses summed in unit order like the allocator does. */
    static List<double[]> allPlans(List<Choices> units) {
        List<double[]> plans = new ArrayList<>();
        plans.add(new double[] {0, 0});
        for (Choices c : units) {
            List<double[]> next = new ArrayList<>();
            for (double[] p : plans) for (Option o : c.options()) next.add(new double[] {p[0] + o.bytes(), p[1] + o.loss()});
            plans = next;
        }
        return plans;
    }

    static void assertConsistent(List<Choices> units, Allocation a) {
        long bytes = 0;
        double loss = 0;
        int u = 0;
        for (var e : a.choices().entrySet()) {
            assertEquals(units.get(u).unit(), e.getKey());
            assertTrue(units.get(u++).options().contains(e.getValue()));
            bytes += e.getValue().bytes();
            loss += e.getValue().loss();
        }
        assertEquals(units.size(), u);
        assertEquals(bytes, a.bytes());
        assertEquals(loss, a.loss());
    }

    @Test
    void matchesBruteForceOnRandomInstances() {
        for (int seed = 0; seed < 300; seed++) {
            Random rnd = new Random(seed);
            List<Choices> units = seed < 150 ? instance(rnd, 6, 3) : instance(rnd, 1 + rnd.nextInt(7), 4);
            BudgetAllocator alloc = new BudgetAllocator(units);
            List<double[]> plans = allPlans(units);
            long max = (long) plans.stream().mapToDouble(p -> p[0]).max().orElseThrow();
            assertEquals((long) plans.stream().mapToDouble(p -> p[0]).min().orElseThrow(), alloc.minimumBytes());
            for (int t = 0; t < 5; t++) {
                long budget = alloc.minimumBytes() + (long) (rnd.nextDouble() * (max - alloc.minimumBytes() + 1));
                double best = plans.stream().filter(p -> p[0] <= budget).mapToDouble(p -> p[1]).min().orElseThrow();
                Allocation a = alloc.allocate(budget);
                assertConsistent(units, a);
                assertEquals(best, a.loss(), "seed " + seed + " budget " + budget);
                assertTrue(a.bytes() <= budget);
            }
        }
    }

    @Test
    void paretoFrontierMatchesBruteForce() {
        for (int seed = 0; seed < 200; seed++) {
            List<Choices> units = instance(new Random(1000 + seed), 6, 3);
            List<double[]> plans = allPlans(units);
            Set<String> expected = new TreeSet<>();
            for (double[] p : plans) {
                boolean dominated = plans.stream().anyMatch(q -> q[0] <= p[0] && q[1] <= p[1] && (q[0] < p[0] || q[1] < p[1]));
                if (!dominated) expected.add((long) p[0] + ":" + p[1]);
            }
            List<Allocation> front = new BudgetAllocator(units).pareto();
            Set<String> got = new TreeSet<>();
            for (int i = 0; i < front.size(); i++) {
                assertConsistent(units, front.get(i));
                got.add(front.get(i).bytes() + ":" + front.get(i).loss());
                if (i > 0) {
                    assertTrue(front.get(i).bytes() > front.get(i - 1).bytes());
                    assertTrue(front.get(i).loss() < front.get(i - 1).loss());
                }
            }
            assertEquals(expected, got, "seed " + seed);
        }
    }

    /** Four identical blocks, options 4/8/16 bits with loss falling as bits rise. */
    static List<Choices> identicalBlocks() {
        List<Choices> units = new ArrayList<>();
        for (int u = 0; u < 4; u++) {
            units.add(new Choices("layers." + u, 256L * 384, List.of(
                    option(4, 256, 384, 1.0 + u), option(8, 256, 384, 0.1 + u / 10.0), option(16, 256, 384, 0))));
        }
        return units;
    }

    @Test
    void averageBitsBudgetsAdmitTheUniformPlans() {
        BudgetAllocator alloc = new BudgetAllocator(identicalBlocks());
        for (int bits : new int[] {4, 8, 16}) {
            Allocation a = alloc.allocate(new Budget.AverageBits(bits));
            for (Option o : a.choices().values()) assertEquals(bits, o.spec().bits(), "AverageBits(" + bits + ")");
        }
        // 6 bits on average: two of the four blocks can go to 8 bits; the costlier-to-quantize ones do.
        Allocation six = alloc.allocate(new Budget.AverageBits(6));
        assertEquals(List.of(4, 4, 8, 8), six.choices().values().stream().map(o -> o.spec().bits()).toList());
        BitPlan plan = six.toPlan("budget", java.util.Map.of("budget", "6.00 bits/weight"));
        assertEquals(new QuantSpec.Int(8, GROUP, false), plan.units().get("layers.3"));
    }

    @Test
    void infeasibleBudgetSaysWhatTheSmallestPlanNeeds() {
        BudgetAllocator alloc = new BudgetAllocator(identicalBlocks());
        var e = assertThrows(IllegalArgumentException.class, () -> alloc.allocate(new Budget.AverageBits(3)));
        assertTrue(e.getMessage().contains("below the smallest possible plan, " + alloc.minimumBytes() + " bytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> alloc.allocate(new Budget.MaxSize(alloc.minimumBytes() - 1)));
        assertEquals(alloc.minimumBytes(), alloc.allocate(new Budget.MaxSize(alloc.minimumBytes())).bytes());
        assertThrows(IllegalArgumentException.class, () -> new Budget.AverageBits(0));
        assertThrows(IllegalArgumentException.class, () -> new Budget.MaxSize(-5));
    }

    @Test
    void rejectsOptionsTooSmallForTheirBits() {
        assertThrows(IllegalArgumentException.class,
                () -> new Choices("x", 1000, List.of(new Option(QuantSpec.of(4, 0), 400, 1))));
    }

    @Test
    void scalesToAModuleGranularityModel() {
        // 28 blocks x 7 modules of 7 shapes, 3 options each: the frontier stays small and agrees with allocate.
        int[][] shapes = {{896, 896}, {128, 896}, {128, 896}, {896, 896}, {4864, 896}, {4864, 896}, {896, 4864}};
        Random rnd = new Random(5);
        List<Choices> units = new ArrayList<>();
        for (int b = 0; b < 28; b++) {
            for (int m = 0; m < shapes.length; m++) {
                int out = shapes[m][0], in = shapes[m][1];
                double s = rnd.nextDouble();
                units.add(new Choices("layers." + b + "." + m, (long) out * in,
                        List.of(option(4, out, in, s), option(8, out, in, s / 16), option(16, out, in, 0))));
            }
        }
        BudgetAllocator alloc = new BudgetAllocator(units);
        List<Allocation> front = alloc.pareto();
        long budget = new Budget.AverageBits(5).toBytes(alloc.weights(), alloc.overheadBytes());
        Allocation best = front.stream().filter(a -> a.bytes() <= budget).reduce((x, y) -> y).orElseThrow();
        Allocation a = alloc.allocate(budget);
        assertEquals(best.loss(), a.loss());
        assertEquals(best.bytes(), a.bytes());
        assertEquals(0.0, front.getLast().loss());
    }
}
