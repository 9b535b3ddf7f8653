package cptquant.allocate;

import cptquant.model.Block;
import cptquant.model.TransformerModel;
import cptquant.quant.QuantCost;
import cptquant.quant.QuantSpec;
import cptquant.quant.SizeReport;
import cptquant.sensitivity.Method;
import cptquant.sensitivity.Profile;
import cptquant.sensitivity.Unit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns sensitivity profiles into bit plans for one model: uniform, the paper's k-means rule, or the
 * least predicted loss under a size budget.
 *
 * <p>Predicted loss of storing unit u with spec s: for DIRECT, the measured loss increase of quantizing
 * u alone to 4 or 8 bits (0 for 16 bits); for the other methods, sensitivity(u) times the relative
 * squared weight error ||Q_s(W_u) - W_u||² / ||W_u||² (HAWQ's "sensitivity times perturbation"), with
 * negative sensitivities clipped to zero plus a tiny floor so that the weight error still breaks ties.
 */
public final class Planner {
    private static final int[] BITS = {4, 8, 16};

    private final TransformerModel model;
    private final int groupSize;
    private final Map<String, QuantCost> costs = new HashMap<>();

    /** @param groupSize integer group size of the 4/8-bit options (0 = per output channel) */
    public Planner(TransformerModel model, int groupSize) {
        this.model = model;
        this.groupSize = groupSize;
    }

    /** Every block at {@code spec}. */
    public BitPlan uniform(QuantSpec spec) {
        Map<String, QuantSpec> units = new LinkedHashMap<>();
        for (Block b : model.blocks()) units.put(b.name(), spec);
        return new BitPlan(units, "uniform " + spec.label());
    }

    /** The paper's rule: k-means (k = 3) on the sensitivities, 16/8/4 bits from the most sensitive down. */
    public BitPlan clusters(Profile p) {
        return PaperAllocator.allocate(p, groupSize);
    }

    /** The least predicted loss with the block linears within {@code budget}. */
    public BitPlan budget(Profile p, Budget budget) {
        return allocator(p).allocate(budget).toPlan(p.method().name().toLowerCase(java.util.Locale.ROOT),
                Map.of("budget", budget.label()));
    }

    /** The least predicted loss with the whole model (non-linear parameters at FP16) within {@code totalBytes}. */
    public BitPlan budgetTotal(Profile p, long totalBytes) {
        long other = SizeReport.of(model, 2).otherBytes();
        return budget(p, new Budget.MaxSize(Math.max(1, totalBytes - other)));
    }

    /** The exact solver over {@code p}'s units with their predicted losses. */
    public BudgetAllocator allocator(Profile p) {
        List<Unit> units = Unit.of(model, p.granularity());
        if (units.size() != p.units().size()) {
            throw new IllegalArgumentException("profile has " + p.units().size() + " units, the model " + units.size());
        }
        double max = 0;
        for (double s : p.sensitivity()) max = Math.max(max, s);
        double floor = max > 0 ? 1e-6 * max : 1e-12;
        List<BudgetAllocator.Choices> choices = new ArrayList<>();
        for (int u = 0; u < units.size(); u++) {
            Unit unit = units.get(u);
            if (!unit.name().equals(p.units().get(u))) {
                throw new IllegalArgumentException("profile unit " + p.units().get(u) + " is not the model's " + unit.name());
            }
            List<BudgetAllocator.Option> options = new ArrayList<>();
            for (int bits : BITS) {
                QuantCost c = cost(unit, QuantSpec.of(bits, groupSize));
                double loss = p.method() == Method.DIRECT ? measured(p, u, bits)
                        : (Math.max(0, p.sensitivity()[u]) + floor) * c.relativeError();
                options.add(new BudgetAllocator.Option(c.spec(), c.bytes(), loss));
            }
            choices.add(new BudgetAllocator.Choices(unit.name(), unit.weightCount(), options));
        }
        return new BudgetAllocator(choices);
    }

    private static double measured(Profile p, int u, int bits) {
        if (bits == 16) return 0;
        double[] inc = p.raw().get("loss_increase_int" + bits);
        if (inc == null) throw new IllegalArgumentException("DIRECT profile lacks loss_increase_int" + bits);
        return Math.max(0, inc[u]);
    }

    private QuantCost cost(Unit unit, QuantSpec spec) {
        return costs.computeIfAbsent(unit.name() + "|" + spec.label(), k -> QuantCost.of(unit.linears(), spec));
    }

    /** Unit name to nominal bits, in plan order. */
    public static Map<String, Integer> bitsOf(BitPlan plan) {
        Map<String, Integer> bits = new LinkedHashMap<>();
        plan.units().forEach((u, s) -> bits.put(u, s.bits()));
        return bits;
    }

    /** Stored bits per block weight as the model is now (scales and zero points included). */
    public static double averageBits(TransformerModel model) {
        long bytes = 0, weights = 0;
        for (Block b : model.blocks()) {
            for (var l : b.linears()) {
                bytes += l.weight().storageBytes();
                weights += (long) l.in() * l.out();
            }
        }
        return 8.0 * bytes / weights;
    }
}
