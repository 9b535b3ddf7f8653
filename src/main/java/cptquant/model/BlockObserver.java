package cptquant.model;

/**
 * Receives each block's input and output hidden states during a forward pass (CMPQ's canonical
 * correlation is computed from these). Arrays are rows x dim, row-major, and only valid for the call.
 */
@FunctionalInterface
public interface BlockObserver {
    /** @param valid which rows are real tokens (null: all); padded rows must be ignored */
    void onBlock(int block, float[] input, float[] output, int rows, int dim, boolean[] valid);

    BlockObserver NONE = (b, in, out, rows, dim, valid) -> {};
}
