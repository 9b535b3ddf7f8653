package cptquant.quant;

import cptquant.model.Block;
import cptquant.model.TransformerModel;
import cptquant.tensor.Linear;

/**
 * What a model costs to store: the block linear weights in their current formats, vectors (biases, and
 * norm parameters: at most hiddenSize values) at FP32 as saved checkpoints keep them, and every other
 * parameter (embeddings, tables, heads) at {@code otherBytesPerParam} bytes each (2 = FP16, the default
 * for what quantization leaves alone). Compression ratios are against the same model all-FP32
 * and all-FP16.
 */
public record SizeReport(long parameters, long linearBytes, long otherBytes, int otherBytesPerParam) {

    /** Total stored bytes. */
    public long totalBytes() { return linearBytes + otherBytes; }

    public long fp32Bytes() { return parameters * 4; }

    public long fp16Bytes() { return parameters * 2; }

    /** FP32 bytes / stored bytes. */
    public double crVsFp32() { return (double) fp32Bytes() / totalBytes(); }

    /** FP16 bytes / stored bytes. */
    public double crVsFp16() { return (double) fp16Bytes() / totalBytes(); }

    /** Measures {@code model} as its linears are stored now. */
    public static SizeReport of(TransformerModel model, int otherBytesPerParam) {
        long params = 0, linear = 0, other = 0;
        for (Block b : model.blocks()) {
            for (Linear l : b.linears()) {
                params += (long) l.out() * l.in();
                linear += l.weight().storageBytes();
                if (l.bias() != null) {
                    params += l.bias().length;
                    other += (long) l.bias().length * Float.BYTES;
                }
            }
        }
        for (float[] p : model.otherParameters().values()) {
            params += p.length;
            other += (long) p.length * (p.length <= model.hiddenSize() ? Float.BYTES : otherBytesPerParam);
        }
        return new SizeReport(params, linear, other, otherBytesPerParam);
    }
}
