package cptquant.model;

import cptquant.tokenize.Tokenizer;

/** A model together with its tokenizer and a display name, as resolved from a --model argument. */
public sealed interface LoadedModel {
    String name();

    Tokenizer tokenizer();

    TransformerModel model();

    /** A decoder language model (OPT, Llama). */
    record Causal(String name, CausalLM model, Tokenizer tokenizer) implements LoadedModel {}

    /** An encoder (BERT family). */
    record Encoding(String name, Encoder model, Tokenizer tokenizer) implements LoadedModel {}
}
