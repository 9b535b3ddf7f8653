package cptquant.model;

import cptquant.tensor.Weight;

/** A decoder-only language model: token ids in, next-token logits out. */
public interface CausalLM extends TransformerModel {
    int vocabSize();

    /** Longest sequence the position embeddings support. */
    int maxPositions();

    /** The LM head as stored (the token embedding when tied): every decoded token reads all of it. */
    Weight lmHead();

    /**
     * Logits for every position of one sequence: a (tokens.length x vocabSize) row-major array where row t
     * predicts token t+1. The observer sees each block's input and output.
     */
    float[] logits(int[] tokens, BlockObserver observer);

    default float[] logits(int[] tokens) { return logits(tokens, BlockObserver.NONE); }

    /** A fresh incremental decoder for one sequence, for families that cache keys and values. */
    default DecodingSession startSession() {
        throw new UnsupportedOperationException(architecture() + " has no incremental decoding session");
    }
}
