package cptquant.cli;

import cptquant.allocate.BitPlan;
import cptquant.allocate.Budget;
import cptquant.allocate.Planner;
import cptquant.io.QuantizedCheckpoint;
import cptquant.model.CausalLM;
import cptquant.model.LoadedModel;
import cptquant.model.TransformerModel;
import cptquant.quant.ModelQuantizer;
import cptquant.quant.QuantSpec;
import cptquant.quant.SizeReport;
import cptquant.sensitivity.Method;
import cptquant.sensitivity.Profile;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code cptquant quantize}: choose per-unit bits and write the quantized model. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Allocate bits per layer (k-means on sensitivity, a size budget, a uniform width, or a plan file) and write the quantized checkpoint.")
final class QuantizeCommand implements Callable<Integer> {
    @Mixin TaskOptions task;
    @Mixin SensitivityOptions sens;

    @Option(names = "--method", defaultValue = "cmpq", description = "sensitivity method for --clusters/--avg-bits/--max-size: cmpq, pmpq, tdmpq, direct (default ${DEFAULT-VALUE})")
    String method;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Allocation allocation;

    static final class Allocation {
        @Option(names = "--clusters", description = "the paper's rule: k-means into 3 groups, 16/8/4 bits (only 3 is supported)")
        Integer clusters;

        @Option(names = "--avg-bits", description = "least predicted loss with this many code bits per block weight on average")
        Double avgBits;

        @Option(names = "--max-size", description = "least predicted loss with the whole stored model at most this size (e.g. 12000000, 12MB, 11.5MiB)")
        String maxSize;

        @Option(names = "--bits", description = "every block at 4, 8 or 16 bits (the uniform baselines)")
        Integer bits;

        @Option(names = "--plan", description = "a plan JSON written by an earlier run (or by hand)")
        Path plan;
    }

    @Option(names = "--head-bits", description = "store a decoder's LM head (and the token embedding tied to it) at 4, 8 or 16 bits (default: F16 like the other tables)")
    Integer headBits;

    @Option(names = "--head-group-size", defaultValue = "0", description = "group size for --head-bits 4 or 8, 0 = per output channel (default ${DEFAULT-VALUE})")
    int headGroupSize;

    @Option(names = "--out", required = true, description = "output directory (written atomically)")
    Path out;

    @Override
    public Integer call() {
        LoadedModel lm = task.loadModel();
        QuantSpec head = headSpec(lm.model());
        Planner planner = new Planner(lm.model(), sens.groupSize);
        BitPlan plan = plan(lm, planner);
        SizeReport before = SizeReport.of(lm.model(), 4);
        ModelQuantizer.apply(lm.model(), plan.units());
        if (head != null) ModelQuantizer.apply(lm.model(), Map.of(CausalLM.LM_HEAD, head));
        SizeReport after = SizeReport.of(lm.model(), 2);
        QuantizedCheckpoint.write(lm, plan, out);
        System.out.printf(Locale.ROOT, "%-28s %s%n", "plan", Planner.bitsOf(plan).values());
        if (lm.model() instanceof CausalLM c) {
            System.out.printf(Locale.ROOT, "%-28s %s%n", "LM head", head == null ? "f16 (default)" : c.lmHead().weight().format());
        }
        System.out.printf(Locale.ROOT, "%-28s %.2f MB -> %.2f MB%n", "size (FP32 -> quantized)", before.totalBytes() / 1e6, after.totalBytes() / 1e6);
        System.out.printf(Locale.ROOT, "%-28s %.2fx (%.2fx vs FP16)%n", "compression", after.crVsFp32(), after.crVsFp16());
        System.out.printf(Locale.ROOT, "%-28s %.2f%n", "stored bits per block weight", Planner.averageBits(lm.model()));
        System.err.println("wrote " + out + " (plan in " + out.resolve("plan.json") + ")");
        return 0;
    }

    /** The --head-bits storage, or null to save the head as F16 like the other tables. */
    private QuantSpec headSpec(TransformerModel model) {
        if (headBits == null) {
            if (headGroupSize != 0) throw new IllegalArgumentException("--head-group-size needs --head-bits 4 or 8");
            return null;
        }
        if (!(model instanceof CausalLM c)) {
            throw new IllegalArgumentException("--head-bits: a " + model.architecture() + " model has no LM head");
        }
        if (headBits != 4 && headBits != 8 && headBits != 16) {
            throw new IllegalArgumentException("--head-bits must be 4, 8 or 16, got " + headBits);
        }
        if (headGroupSize < 0) throw new IllegalArgumentException("--head-group-size must be >= 0, got " + headGroupSize);
        if (headBits == 16 && headGroupSize != 0) {
            throw new IllegalArgumentException("--head-group-size applies to --head-bits 4 or 8, not 16");
        }
        int in = c.lmHead().in();
        if (headGroupSize != 0 && headGroupSize < in && in % headGroupSize != 0) {
            throw new IllegalArgumentException("--head-group-size " + headGroupSize + " does not divide the LM head's row of "
                    + in + " (0 = per channel)");
        }
        return QuantSpec.of(headBits, headGroupSize);
    }

    private BitPlan plan(LoadedModel lm, Planner planner) {
        if (allocation.plan != null) return BitPlan.read(allocation.plan);
        if (allocation.bits != null) return planner.uniform(QuantSpec.of(allocation.bits, sens.groupSize));
        if (allocation.clusters != null && allocation.clusters != 3) {
            throw new IllegalArgumentException("--clusters must be 3 (the paper's 16/8/4 levels), got " + allocation.clusters);
        }
        Method m = SensitivityOptions.method(method);
        Profile p = sens.measure(m, lm.model(), task.task(lm), task.seed);
        if (allocation.clusters != null) return planner.clusters(p);
        if (allocation.avgBits != null) return planner.budget(p, new Budget.AverageBits(allocation.avgBits));
        return planner.budgetTotal(p, parseSize(allocation.maxSize));
    }

    private static final Pattern SIZE = Pattern.compile("(?i)\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(b|kb|mb|gb|kib|mib|gib)?\\s*");

    /** Bytes of "123", "12MB" (10^6) or "11.5MiB" (2^20). */
    static long parseSize(String s) {
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) throw new IllegalArgumentException("--max-size must be a size like 12000000, 12MB or 11.5MiB, got '" + s + "'");
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        double mult = switch (unit) {
            case "kb" -> 1e3;
            case "mb" -> 1e6;
            case "gb" -> 1e9;
            case "kib" -> 1024;
            case "mib" -> 1024.0 * 1024;
            case "gib" -> 1024.0 * 1024 * 1024;
            default -> 1;
        };
        return (long) (v * mult);
    }
}
