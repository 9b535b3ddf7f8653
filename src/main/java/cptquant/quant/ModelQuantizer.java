package cptquant.quant;

import cptquant.model.Block;
import cptquant.model.CausalLM;
import cptquant.model.TransformerModel;
import cptquant.tensor.Linear;
import cptquant.tensor.Weight;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Applies per-unit storage specs to a model's block linears and LM head in place, and can undo it. */
public final class ModelQuantizer {
    private ModelQuantizer() {}

    /** The weights a call replaced, so a trial quantization can be rolled back. */
    public record Undo(Map<Linear, Weight> originals) {
        public void restore() { originals.forEach(Linear::setWeight); }
    }

    /**
     * Re-stores linears as {@code specs} says. A key is a block name ("layers.3": all its linears), a
     * module name ("layers.3.mlp.down_proj": that one, overriding its block) or, for a {@link CausalLM},
     * {@value CausalLM#LM_HEAD} (the LM head, and with it a tied token embedding). Unknown keys are an error.
     */
    public static Undo apply(TransformerModel model, Map<String, QuantSpec> specs) {
        Map<String, QuantSpec> perModule = new HashMap<>();
        List<String> unknown = new ArrayList<>(specs.keySet());
        List<Linear> targets = new ArrayList<>();
        if (specs.containsKey(CausalLM.LM_HEAD)) {
            if (!(model instanceof CausalLM c)) {
                throw new IllegalArgumentException("a " + model.architecture() + " model has no LM head to quantize (\""
                        + CausalLM.LM_HEAD + "\")");
            }
            unknown.remove(CausalLM.LM_HEAD);
            perModule.put(CausalLM.LM_HEAD, specs.get(CausalLM.LM_HEAD));
            targets.add(c.lmHead());
        }
        for (Block b : model.blocks()) {
            QuantSpec blockSpec = specs.get(b.name());
            if (blockSpec != null) unknown.remove(b.name());
            for (Linear l : b.linears()) {
                QuantSpec s = specs.containsKey(l.name()) ? specs.get(l.name()) : blockSpec;
                unknown.remove(l.name());
                if (s != null) perModule.put(l.name(), s);
                targets.add(l);
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("plan names units the model does not have: " + unknown);
        }
        Map<Linear, Weight> originals = new HashMap<>();
        for (Linear l : targets) {
            QuantSpec s = perModule.get(l.name());
            if (s == null) continue;
            originals.put(l, l.weight());
            try {
                l.setWeight(Quantizer.quantize(l.weight(), s));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(l.name() + ": " + e.getMessage(), e);
            }
        }
        return new Undo(originals);
    }

    /** Every block linear stored as {@code spec} (the uniform baselines). */
    public static Undo applyUniform(TransformerModel model, QuantSpec spec) {
        Map<String, QuantSpec> specs = new HashMap<>();
        for (Block b : model.blocks()) specs.put(b.name(), spec);
        return apply(model, specs);
    }
}
