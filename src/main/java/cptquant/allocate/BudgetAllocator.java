package cptquant.allocate;

import cptquant.quant.QuantSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Chooses one storage option per unit so that the summed predicted loss increase is least while the
 * total bytes stay within a budget: the multiple-choice knapsack problem, solved exactly.
 *
 * <p>Method: dynamic programming over the units in order, keeping after each unit only the Pareto
 * frontier of partial plans (no other partial plan has both fewer-or-equal bytes and lower-or-equal
 * loss), and dropping partial plans that cannot fit even with every remaining unit at its cheapest
 * option. Both prunings are exact: any completion of a dropped plan completes a kept one at least as
 * well. The frontier has at most one plan per distinct byte total, and real models repeat few layer
 * shapes, so it stays small (for n identical units with 3 options, O(n²) plans). Each step merges the
 * per-option shifted frontiers, which are already sorted, in linear time.
 *
 * <p>Ties in loss go to the plan with fewer bytes; exact ties in both to the earlier option.
 */
public final class BudgetAllocator {

    /** One way to store a unit: its spec, exact stored bytes, and predicted loss increase. */
    public record Option(QuantSpec spec, long bytes, double loss) {
        public Option {
            if (bytes < 0) throw new IllegalArgumentException("negative bytes " + bytes);
            if (!Double.isFinite(loss)) throw new IllegalArgumentException("predicted loss must be finite, got " + loss);
        }
    }

    /** A unit, the number of weights it holds, and its options. */
    public record Choices(String unit, long weights, List<Option> options) {
        public Choices {
            options = List.copyOf(options);
            if (options.isEmpty()) throw new IllegalArgumentException(unit + ": no storage options");
            if (weights <= 0) throw new IllegalArgumentException(unit + ": weight count must be positive, got " + weights);
            for (Option o : options) {
                if (o.bytes() * 8 < (double) o.spec().bits() * weights) {
                    throw new IllegalArgumentException(unit + ": " + o.spec().label() + " cannot hold " + weights
                            + " weights in " + o.bytes() + " bytes");
                }
            }
        }

        /** The option with the fewest bytes (the first such). */
        Option cheapest() {
            Option best = options.getFirst();
            for (Option o : options) if (o.bytes() < best.bytes()) best = o;
            return best;
        }
    }

    /** One option per unit (in unit order), with the totals. */
    public record Allocation(Map<String, Option> choices, long bytes, double loss) {
        public Allocation {
            choices = Collections.unmodifiableMap(new LinkedHashMap<>(choices));
        }

        /** The chosen specs as a plan. */
        public BitPlan toPlan(String method, Map<String, String> metadata) {
            Map<String, QuantSpec> units = new LinkedHashMap<>();
            choices.forEach((u, o) -> units.put(u, o.spec()));
            return new BitPlan(units, method, metadata);
        }
    }

    private final List<Choices> units;
    /** suffixMinBytes[u]: the fewest bytes units u..n-1 can take. */
    private final long[] suffixMinBytes;

    public BudgetAllocator(List<Choices> units) {
        if (units.isEmpty()) throw new IllegalArgumentException("nothing to allocate");
        this.units = List.copyOf(units);
        suffixMinBytes = new long[units.size() + 1];
        for (int u = units.size() - 1; u >= 0; u--) {
            suffixMinBytes[u] = Math.addExact(suffixMinBytes[u + 1], units.get(u).cheapest().bytes());
        }
    }

    /** The bytes of the smallest plan (every unit at its cheapest option). */
    public long minimumBytes() { return suffixMinBytes[0]; }

    /** Quantizable weights over all units. */
    public long weights() {
        return units.stream().mapToLong(Choices::weights).sum();
    }

    /** Bytes the cheapest plan spends beyond its nominal bits (scales, zero points, padding). */
    public long overheadBytes() {
        long overhead = 0;
        for (Choices c : units) {
            Option o = c.cheapest();
            overhead += o.bytes() - (long) Math.floor(o.spec().bits() / 8.0 * c.weights());
        }
        return overhead;
    }

    /** The least-loss plan within {@code budget} (see {@link Budget#toBytes} for what bits mean). */
    public Allocation allocate(Budget budget) {
        long bytes = budget.toBytes(weights(), overheadBytes());
        return allocate(bytes, budget.label() + " (" + bytes + " bytes)");
    }

    /** The least-loss plan of at most {@code budgetBytes} bytes. */
    public Allocation allocate(long budgetBytes) {
        return allocate(budgetBytes, budgetBytes + " bytes");
    }

    private Allocation allocate(long budgetBytes, String described) {
        if (budgetBytes < minimumBytes()) {
            throw new IllegalArgumentException("budget of " + described + " is below the smallest possible plan, "
                    + minimumBytes() + " bytes with every unit at its cheapest option");
        }
        List<Front> layers = solve(budgetBytes);
        return trace(layers, layers.getLast().size() - 1);
    }

    /** Every plan no other plan beats on both bytes and loss, by increasing bytes (decreasing loss). */
    public List<Allocation> pareto() {
        List<Front> layers = solve(Long.MAX_VALUE);
        List<Allocation> plans = new ArrayList<>();
        for (int s = 0; s < layers.getLast().size(); s++) plans.add(trace(layers, s));
        return plans;
    }

    /** Frontiers after each unit; layer u+1 holds plans for units 0..u. Layer 0 is the empty plan. */
    private List<Front> solve(long budgetBytes) {
        List<Front> layers = new ArrayList<>(units.size() + 1);
        layers.add(new Front(new long[] {0}, new double[] {0}, new int[] {-1}, new int[] {-1}));
        for (int u = 0; u < units.size(); u++) {
            long cap = budgetBytes == Long.MAX_VALUE ? Long.MAX_VALUE : budgetBytes - suffixMinBytes[u + 1];
            layers.add(layers.getLast().extend(units.get(u).options(), cap));
        }
        return layers;
    }

    private Allocation trace(List<Front> layers, int state) {
        Option[] chosen = new Option[units.size()];
        Front last = layers.getLast();
        long bytes = last.bytes[state];
        double loss = last.loss[state];
        for (int u = units.size(); u >= 1; u--) {
            Front f = layers.get(u);
            chosen[u - 1] = units.get(u - 1).options().get(f.option[state]);
            state = f.parent[state];
        }
        Map<String, Option> choices = new LinkedHashMap<>();
        for (int u = 0; u < chosen.length; u++) choices.put(units.get(u).unit(), chosen[u]);
        return new Allocation(choices, bytes, loss);
    }

    /**
     * Partial plans sorted by strictly increasing bytes and strictly decreasing loss; parent and option
     * say which plan of the previous layer and which option of this unit each extends.
     */
    private record Front(long[] bytes, double[] loss, int[] parent, int[] option) {

        int size() { return bytes.length; }

        /** The frontier after adding one of {@code options} to every plan, keeping plans of at most cap bytes. */
        Front extend(List<Option> options, long cap) {
            int k = options.size();
            int size = size(), capacity = Math.max(16, size);
            long[] nb = new long[capacity];
            double[] nl = new double[capacity];
            int[] np = new int[capacity], no = new int[capacity];
            int n = 0;
            int[] next = new int[k];
            double bestLoss = Double.POSITIVE_INFINITY;
            while (true) {
                int pick = -1;
                long pb = 0;
                double pl = 0;
                for (int o = 0; o < k; o++) {
                    if (next[o] >= size) continue;
                    long b = bytes[next[o]] + options.get(o).bytes();
                    if (b > cap) {
                        next[o] = size; // the rest of this shifted frontier is larger still
                        continue;
                    }
                    double l = loss[next[o]] + options.get(o).loss();
                    if (pick < 0 || b < pb || (b == pb && l < pl)) {
                        pick = o;
                        pb = b;
                        pl = l;
                    }
                }
                if (pick < 0) break;
                if (pl < bestLoss) {
                    if (n == nb.length) {
                        nb = Arrays.copyOf(nb, 2 * n);
                        nl = Arrays.copyOf(nl, 2 * n);
                        np = Arrays.copyOf(np, 2 * n);
                        no = Arrays.copyOf(no, 2 * n);
                    }
                    nb[n] = pb;
                    nl[n] = pl;
                    np[n] = next[pick];
                    no[n] = pick;
                    n++;
                    bestLoss = pl;
                }
                next[pick]++;
            }
            return new Front(Arrays.copyOf(nb, n), Arrays.copyOf(nl, n), Arrays.copyOf(np, n), Arrays.copyOf(no, n));
        }
    }
}
