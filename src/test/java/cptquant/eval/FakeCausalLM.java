package cptquant.eval;

import cptquant.model.Block;
import cptquant.model.BlockObserver;
import cptquant.model.CausalLM;
import cptquant.tensor.Linear;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/** A causal LM whose logit row for a position is a fixed function of the token there; records its inputs. */
final class FakeCausalLM implements CausalLM {
    private final int vocab;
    private final int maxPositions;
    private final IntFunction<float[]> rowForToken;
    final List<int[]> seen = new ArrayList<>();

    FakeCausalLM(int vocab, int maxPositions, IntFunction<float[]> rowForToken) {
        this.vocab = vocab;
        this.maxPositions = maxPositions;
        this.rowForToken = rowForToken;
    }

    @Override public int vocabSize() { return vocab; }
    @Override public int maxPositions() { return maxPositions; }
    @Override public Linear lmHead() { throw new UnsupportedOperationException("no head"); }
    @Override public String lmHeadTable() { throw new UnsupportedOperationException("no head"); }
    @Override public String architecture() { return "fake"; }
    @Override public List<Block> blocks() { return List.of(); }
    @Override public int hiddenSize() { return 1; }
    @Override public Map<String, float[]> otherParameters() { return Map.of(); }

    @Override
    public float[] logits(int[] tokens, BlockObserver observer) {
        seen.add(tokens.clone());
        float[] out = new float[tokens.length * vocab];
        for (int t = 0; t < tokens.length; t++) System.arraycopy(rowForToken.apply(tokens[t]), 0, out, t * vocab, vocab);
        return out;
    }
}
