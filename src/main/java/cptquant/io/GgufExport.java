package cptquant.io;

import cptquant.quant.GgmlType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a mixed-precision model as GGUF: each tensor gets the ggml type of its planned bits, and the
 * caller supplies the architecture and tokenizer metadata (names and keys are model-specific).
 */
public final class GgufExport {
    /** ggml's GGML_QNT_VERSION, which llama.cpp's own quantizer records in quantized files. */
    static final int QUANTIZATION_VERSION = 2;

    private GgufExport() {}

    /**
     * One tensor to export. {@code shape} is in PyTorch order (outermost first: [out, in] for a linear
     * weight, [n] for a norm), {@code values} row-major in that shape, {@code bits} the plan's choice:
     * 4, 8, 16 or 32.
     */
    public record Tensor(String ggufName, float[] values, int[] shape, int bits) {
        public Tensor {
            if (shape.length == 0 || Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b) != values.length) {
                throw new IllegalArgumentException(ggufName + ": shape " + Arrays.toString(shape) + " does not hold " + values.length + " values");
            }
            if (bits != 4 && bits != 8 && bits != 16 && bits != 32) {
                throw new IllegalArgumentException(ggufName + ": bits must be 4, 8, 16 or 32, got " + bits);
            }
        }
    }

    /**
     * The ggml type for a tensor: 1-D tensors (norms, biases) stay F32 as llama.cpp expects; otherwise 4
     * bits is Q4_1 (asymmetric like cptquant's default 4-bit spec), 8 is Q8_0, 16 is F16 and 32 is F32.
     * Block types need rows (the last PyTorch dimension) of whole 32-blocks; other rows fall back to F16.
     */
    public static GgmlType typeFor(int[] shape, int bits) {
        if (shape.length == 1) return GgmlType.F32;
        GgmlType wanted = switch (bits) {
            case 4 -> GgmlType.Q4_1;
            case 8 -> GgmlType.Q8_0;
            case 16 -> GgmlType.F16;
            case 32 -> GgmlType.F32;
            default -> throw new IllegalArgumentException("bits must be 4, 8, 16 or 32, got " + bits);
        };
        return wanted.fitsRow(shape[shape.length - 1]) ? wanted : GgmlType.F16;
    }

    /**
     * Writes {@code tensors} with {@code metadata} to {@code target} atomically, adding
     * general.quantization_version when a block-quantized type is used; returns each tensor's type.
     */
    public static Map<String, GgmlType> write(Path target, Map<String, GgufValue> metadata, List<Tensor> tensors) {
        GgufWriter w = new GgufWriter();
        metadata.forEach(w::put);
        Map<String, GgmlType> types = new LinkedHashMap<>();
        for (Tensor t : tensors) {
            GgmlType type = typeFor(t.shape(), t.bits());
            long[] ne = new long[t.shape().length];
            for (int d = 0; d < ne.length; d++) ne[d] = t.shape()[ne.length - 1 - d];
            w.addTensor(t.ggufName(), type, ne, t.values());
            types.put(t.ggufName(), type);
        }
        boolean quantized = types.values().stream().anyMatch(type -> type.blockSize() > 1);
        if (quantized && !metadata.containsKey("general.quantization_version")) {
            w.put("general.quantization_version", GgufValue.uint32(QUANTIZATION_VERSION));
        }
        w.write(target);
        return types;
    }
}
