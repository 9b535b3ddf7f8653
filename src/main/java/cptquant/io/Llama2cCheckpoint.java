package cptquant.io;

import cptquant.tensor.DType;
import cptquant.tensor.DenseWeight;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A llama2.c ("legacy" export) checkpoint, memory-mapped: a header of seven little-endian int32 and then
 * float32 arrays in a fixed order. Weights are views of the mapping, so nothing is copied until a caller
 * asks for a heap array.
 */
public final class Llama2cCheckpoint {
    private static final int HEADER_BYTES = 7 * Integer.BYTES;
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * The header. {@code sharedClassifier} is the sign of the stored vocab size: llama2.c writes it
     * negative when the output classifier is a separate matrix rather than the token embedding.
     */
    public record Config(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                         boolean sharedClassifier, int seqLen) {
        public int headDim() { return dim / nHeads; }

        public int kvDim() { return nKvHeads * headDim(); }

        /** Why these sizes cannot describe a model, or null when they can. */
        public String problem() {
            if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || vocabSize <= 0 || seqLen <= 0) {
                return "non-positive size";
            }
            if (dim % nHeads != 0 || (dim / nHeads) % 2 != 0) return "dim " + dim + " is not a multiple of 2 * n_heads " + nHeads;
            if (nHeads % nKvHeads != 0) return "n_heads " + nHeads + " is not a multiple of n_kv_heads " + nKvHeads;
            if ((long) vocabSize * dim > Integer.MAX_VALUE || (long) hiddenDim * dim > Integer.MAX_VALUE
                    || (long) seqLen * dim > Integer.MAX_VALUE) {
                return "a tensor would exceed 2^31 elements";
            }
            return null;
        }
    }

    /** The arrays of the file, in file order; per-layer tensors are stored layer after layer. */
    public enum Tensor {
        TOKEN_EMBEDDING, RMS_ATT, WQ, WK, WV, WO, RMS_FFN, W1, W2, W3, RMS_FINAL, FREQ_CIS_REAL, FREQ_CIS_IMAG, WCLS;

        /** Whether the file stores one of these per layer. */
        public boolean perLayer() {
            return switch (this) {
                case RMS_ATT, WQ, WK, WV, WO, RMS_FFN, W1, W2, W3 -> true;
                default -> false;
            };
        }

        /** {rows, columns} of one layer's (or the only) matrix; vectors have one row. */
        long[] shape(Config c) {
            return switch (this) {
                case TOKEN_EMBEDDING, WCLS -> new long[] {c.vocabSize(), c.dim()};
                case RMS_ATT, RMS_FFN, RMS_FINAL -> new long[] {1, c.dim()};
                case WQ, WO -> new long[] {c.dim(), c.dim()};
                case WK, WV -> new long[] {c.kvDim(), c.dim()};
                case W1, W3 -> new long[] {c.hiddenDim(), c.dim()};
                case W2 -> new long[] {c.dim(), c.hiddenDim()};
                case FREQ_CIS_REAL, FREQ_CIS_IMAG -> new long[] {c.seqLen(), c.headDim() / 2};
            };
        }
    }

    private final Path file;
    private final Config config;
    private final MemorySegment mapped;
    private final long[] offsets = new long[Tensor.values().length];

    private Llama2cCheckpoint(Path file, Config config, MemorySegment mapped) {
        this.file = file;
        this.config = config;
        this.mapped = mapped;
        long at = HEADER_BYTES;
        try {
            for (Tensor t : Tensor.values()) {
                offsets[t.ordinal()] = at;
                at = Math.addExact(at, present(t) ? totalBytes(t) : 0);
            }
        } catch (ArithmeticException e) {
            throw new ModelFormatException(file, "impossible llama2.c header " + config + ": sizes overflow 64 bits");
        }
        if (at != mapped.byteSize()) {
            String what = at > mapped.byteSize() ? "truncated" : "has " + (mapped.byteSize() - at) + " trailing bytes";
            throw new ModelFormatException(file, "file " + what + ": header " + config + " needs " + at
                    + " bytes, file has " + mapped.byteSize());
        }
    }

    /** Maps and validates {@code file}; the mapping lives as long as any weight taken from it. */
    public static Llama2cCheckpoint open(Path file) {
        MemorySegment mapped;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() < HEADER_BYTES) {
                throw new ModelFormatException(file, "file of " + ch.size() + " bytes is too short for the llama2.c header");
            }
            mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read: " + e.getMessage(), e);
        }
        return new Llama2cCheckpoint(file, readConfig(file, mapped), mapped);
    }

    private static Config readConfig(Path file, MemorySegment m) {
        int[] h = new int[7];
        for (int i = 0; i < 7; i++) h[i] = m.getAtIndex(I32_LE, i);
        // |Integer.MIN_VALUE| is negative, so that vocabulary size is refused as non-positive too.
        Config c = new Config(h[0], h[1], h[2], h[3], h[4], Math.abs(h[5]), h[5] > 0, h[6]);
        String problem = c.problem();
        if (problem != null) {
            throw new ModelFormatException(file, "impossible llama2.c header [dim, hidden_dim, n_layers, n_heads, "
                    + "n_kv_heads, vocab_size, seq_len] = " + java.util.Arrays.toString(h) + ": " + problem);
        }
        return c;
    }

    public Path file() { return file; }

    public Config config() { return config; }

    /** Whether {@code t} is stored (the classifier only when untied). */
    public boolean present(Tensor t) {
        return t != Tensor.WCLS || !config.sharedClassifier();
    }

    /** The matrix {@code t} of {@code layer} (0 for tensors that are not per layer), without copying. */
    public DenseWeight weight(Tensor t, int layer) {
        long[] s = t.shape(config);
        return new DenseWeight(DType.F32, (int) s[0], (int) s[1], segment(t, layer));
    }

    /** A heap copy of the tensor {@code t} of {@code layer} (0 for tensors that are not per layer). */
    public float[] floats(Tensor t, int layer) {
        return segment(t, layer).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
    }

    private MemorySegment segment(Tensor t, int layer) {
        if (!present(t)) throw new IllegalArgumentException(file + " has no " + t + " (classifier is tied)");
        int layers = t.perLayer() ? config.nLayers() : 1;
        if (layer < 0 || layer >= layers) throw new IndexOutOfBoundsException(t + " layer " + layer);
        long bytes = layerBytes(t);
        return mapped.asSlice(offsets[t.ordinal()] + layer * bytes, bytes);
    }

    private long layerBytes(Tensor t) {
        long[] s = t.shape(config);
        return s[0] * s[1] * Float.BYTES;
    }

    private long totalBytes(Tensor t) {
        return Math.multiplyExact(layerBytes(t), t.perLayer() ? config.nLayers() : 1);
    }
}
