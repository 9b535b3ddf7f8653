package cptquant.sensitivity;

/** The sensitivity measures: the paper's three plus direct quantization as the natural baseline. */
public enum Method {
    /** 1 - mean canonical correlation between a block's input and output states. */
    CMPQ,
    /** Metric drop after magnitude pruning the unit, averaged over sparsity levels. */
    PMPQ,
    /** Mean absolute per-sample loss change after Gaussian noise on the unit's weights. */
    TDMPQ,
    /** Loss increase after quantizing only the unit to 4 bits (and 8). */
    DIRECT
}
