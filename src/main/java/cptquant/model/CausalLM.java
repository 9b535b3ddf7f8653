package cptquant.model;

import cptquant.tensor.Linear;

/** A decoder-only language model: token ids in, next-token logits out. */
public interface CausalLM extends TransformerModel {
    int vocabSize();

    /** Longest sequence the position embeddings support. */
    int maxPositions();

    /** The name of {@link #lmHead()}, and the key that quantizes it in a plan. */
    String LM_HEAD = "lm_head";

    /**
     * The LM head, a bias-free {@link Linear} named {@value #LM_HEAD}: every decoded token reads all of it.
     * When the head is tied to the token embedding, embeddings are looked up in its current weight, so
     * re-storing it (e.g. quantizing) changes both, as a saved file holds one table for both.
     */
    Linear lmHead();

    /** The {@link #otherParameters()} key the head's table is listed under (the token embedding's when tied). */
    String lmHeadTable();

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
