package cptquant.io;

import cptquant.model.BertModel;
import cptquant.model.Block;
import cptquant.model.CausalLM;
import cptquant.model.LlamaModel;
import cptquant.model.LoadedModel;
import cptquant.model.TransformerModel;
import cptquant.tensor.Linear;
import cptquant.tensor.PackedWeight;
import cptquant.tokenize.HfTokenizer;
import cptquant.tokenize.Llama2cTokenizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a loaded llama2.c Llama or BERT model into the GGUF tensors and metadata llama.cpp expects of
 * its "llama" and "bert" architectures. Every weight is taken from the model's FP32 values
 * ({@code toFloat()}) and re-quantized into ggml blocks by {@link GgufExport}, at the bits a plan gives.
 */
public final class GgufModels {
    /** Bits of block linears and embeddings a plan does not mention: F16. */
    public static final int DEFAULT_BITS = 16;

    private GgufModels() {}

    /** What to write: architecture and tokenizer metadata, and the tensors with their bits. */
    public record Export(Map<String, GgufValue> metadata, List<GgufExport.Tensor> tensors) {}

    /**
     * A rule naming cptquant parameters in GGUF: {@code from} matches a cptquant name (a block linear's
     * {@link Linear#name()} or an {@code otherParameters()} key), {@code to} is the GGUF name with
     * regex group references; {@code table} marks a 2-D table of hidden-size rows (embeddings, classifier)
     * and {@code f32} one that llama.cpp adds to F32 activations directly, so it must stay F32.
     */
    record Rule(Pattern from, String to, boolean table, boolean f32) {
        static Rule of(String from, String to) { return new Rule(Pattern.compile(from), to, false, false); }

        static Rule table(String from, String to) { return new Rule(Pattern.compile(from), to, true, false); }

        static Rule f32Table(String from, String to) { return new Rule(Pattern.compile(from), to, true, true); }
    }

    /**
     * One family's naming: its rename rules, and name prefixes of cptquant parameters llama.cpp has no
     * tensor for (they are left out of the file).
     */
    record Naming(List<Rule> rules, List<String> skippedPrefixes) {}

    /**
     * A parameter ready to write: its cptquant name (what plans use), GGUF name, values, PyTorch shape,
     * and whether it must stay F32 whatever the plan says.
     */
    private record Source(String name, String ggufName, float[] values, int[] shape, boolean f32) {}

    /**
     * The widths {@code model} is stored at, as a plan for {@link #of}: each packed block linear's bits, and
     * a packed LM head's under its table's name (in a tied model that is the token embedding). Dense
     * weights are left out, so they get {@link #DEFAULT_BITS}. This is what exporting a saved quantized
     * checkpoint without a plan keeps.
     */
    public static Map<String, Integer> storedBits(TransformerModel model) {
        Map<String, Integer> bits = new LinkedHashMap<>();
        for (Block b : model.blocks()) {
            for (Linear l : b.linears()) {
                if (l.weight() instanceof PackedWeight p) bits.put(l.name(), p.bits());
            }
        }
        if (model instanceof CausalLM c && c.lmHead().weight() instanceof PackedWeight p) bits.put(c.lmHeadTable(), p.bits());
        return bits;
    }

    /**
     * The export of {@code loaded} with {@code plannedBits} (unit → 4, 8 or 16; a unit is a block name
     * such as "layers.3", a linear's name, or an {@code otherParameters()} name such as "tok_embeddings").
     * Units not in the plan get {@link #DEFAULT_BITS}; norms and biases are always F32.
     *
     * @throws IllegalArgumentException for a family other than llama and bert, or a plan naming units
     *                                  the model does not have
     */
    public static Export of(LoadedModel loaded, Map<String, Integer> plannedBits) {
        TransformerModel model = loaded.model();
        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        metadata.put("general.architecture", GgufValue.string(model.architecture()));
        metadata.put("general.name", GgufValue.string(loaded.name()));
        Naming naming = switch (model) {
            case LlamaModel llama when loaded.tokenizer() instanceof Llama2cTokenizer tok -> {
                metadata.putAll(GgufLlama.metadata(llama, tok));
                yield GgufLlama.NAMING;
            }
            case BertModel bert when loaded.tokenizer() instanceof HfTokenizer tok -> {
                metadata.putAll(GgufBert.metadata(bert, tok));
                yield GgufBert.NAMING;
            }
            default -> throw new IllegalArgumentException("GGUF export supports llama and bert, not "
                    + model.architecture() + " (" + loaded.name() + ")");
        };
        List<Source> sources = sources(model, naming);
        return new Export(metadata, withBits(model, sources, plannedBits));
    }

    /** Every parameter llama.cpp uses, renamed, ordered as llama.cpp's converter does: by block. */
    private static List<Source> sources(TransformerModel model, Naming naming) {
        List<Source> out = new ArrayList<>();
        for (Block b : model.blocks()) {
            for (Linear l : b.linears()) {
                String to = ggufName(naming, l.name()).to();
                out.add(new Source(l.name(), to, l.weight().toFloat(), new int[] {l.out(), l.in()}, false));
                if (l.bias() != null) {
                    // a linear's bias sits beside its weight in GGUF ("blk.0.attn_q.weight" / ".bias")
                    out.add(new Source(l.name() + ".bias", to.replaceFirst("\\.weight$", ".bias"), l.bias(), new int[] {l.out()}, false));
                }
            }
        }
        int hidden = model.hiddenSize();
        model.otherParameters().forEach((name, values) -> {
            if (naming.skippedPrefixes().stream().anyMatch(name::startsWith)) return;
            Renamed r = ggufName(naming, name);
            int[] shape = r.rule().table() ? new int[] {values.length / hidden, hidden} : new int[] {values.length};
            out.add(new Source(name, r.to(), values, shape, r.rule().f32()));
        });
        out.sort(Comparator.comparingInt(s -> blockOrder(s.ggufName())));
        return out;
    }

    private record Renamed(Rule rule, String to) {}

    /** The first rule matching {@code name}, and the GGUF name it gives. */
    private static Renamed ggufName(Naming naming, String name) {
        for (Rule r : naming.rules()) {
            Matcher m = r.from().matcher(name);
            if (m.matches()) return new Renamed(r, m.replaceFirst(r.to()));
        }
        throw new IllegalArgumentException("GGUF export has no name for parameter " + name);
    }

    /** Sort key: embeddings first, then blocks in order, then the output norm and classifier. */
    private static int blockOrder(String ggufName) {
        if (ggufName.startsWith("blk.")) return Integer.parseInt(ggufName.substring(4, ggufName.indexOf('.', 4)));
        return ggufName.startsWith("output") ? Integer.MAX_VALUE : -1;
    }

    /**
     * Bits per tensor: 32 where llama.cpp needs F32, else the plan's entry for its own name, else for a
     * block linear its block's entry, else {@link #DEFAULT_BITS}. Unknown plan units are an error rather than silently ignored.
     */
    private static List<GgufExport.Tensor> withBits(TransformerModel model, List<Source> sources, Map<String, Integer> planned) {
        Map<String, String> blockOf = new HashMap<>();
        Set<String> known = new LinkedHashSet<>();
        for (Block b : model.blocks()) {
            known.add(b.name());
            for (Linear l : b.linears()) blockOf.put(l.name(), b.name());
        }
        sources.forEach(s -> known.add(s.name()));
        List<String> unknown = planned.keySet().stream().filter(u -> !known.contains(u)).toList();
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("plan names units the model does not have: " + unknown
                    + " (units are block names such as " + model.blocks().getFirst().name() + ", module or parameter names)");
        }
        List<GgufExport.Tensor> out = new ArrayList<>();
        for (Source s : sources) {
            Integer bits = s.f32() ? Integer.valueOf(32) : planned.get(s.name());
            if (bits == null && blockOf.containsKey(s.name())) bits = planned.get(blockOf.get(s.name()));
            out.add(new GgufExport.Tensor(s.ggufName(), s.values(), s.shape(), bits == null ? DEFAULT_BITS : bits));
        }
        return out;
    }
}
