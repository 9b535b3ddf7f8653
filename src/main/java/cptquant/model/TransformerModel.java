package cptquant.model;

import java.util.List;

/** What every model family exposes to sensitivity analysis, quantization and size accounting. */
public interface TransformerModel {
    /** Architecture name, e.g. "bert", "opt", "llama". */
    String architecture();

    /** Transformer blocks in order, with their linear modules. */
    List<Block> blocks();

    /** Hidden size (width of the residual stream). */
    int hiddenSize();

    /** Every parameter tensor that is not a block linear weight (embeddings, norms, biases, heads), by name. */
    java.util.Map<String, float[]> otherParameters();
}
