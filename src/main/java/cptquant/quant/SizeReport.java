package cptquant.quant;

import cptquant.model.Block;
import cptquant.model.CausalLM;
import cptquant.model.TransformerModel;
import cptquant.tensor.Linear;
import cptquant.tensor.PackedWeight;
import java.util.Map;

/**
 * What a model costs to store: the block linear weights in their current formats, vectors (biases, and
 * norm parameters: at most hiddenSize values) at FP32 as saved checkpoints keep them, a packed LM head at
 * its packed size, and every other parameter (embeddings, tables, a dense head) at
 * {@code otherBytesPerParam} bytes each (2 = FP16, the default for what quantization leaves alone). Compression ratios are against the same model all-FP32
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
        // A packed head is saved packed; its table appears once among the other parameters, under this key.
        String packedTable = null;
        long packedBytes = 0;
        if (model instanceof CausalLM c && c.lmHead().weight() instanceof PackedWeight p) {
            packedTable = c.lmHeadTable();
            packedBytes = p.storageBytes();
        }
        for (Map.Entry<String, float[]> e : model.otherParameters().entrySet()) {
            int n = e.getValue().length;
            params += n;
            other += e.getKey().equals(packedTable) ? packedBytes
                    : (long) n * (n <= model.hiddenSize() ? Float.BYTES : otherBytesPerParam);
        }
        return new SizeReport(params, linear, other, otherBytesPerParam);
    }
}
