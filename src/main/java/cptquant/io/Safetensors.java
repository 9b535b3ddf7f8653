package cptquant.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A memory-mapped .safetensors file: an 8-byte little-endian header length, a JSON header mapping tensor
 * names to dtype, shape and byte offsets, then the raw little-endian tensor data. Tensors are slices of the
 * mapping, so files over 2 GB and models larger than the Java heap load without copying. The mapping lives
 * as long as any tensor or weight taken from it is reachable.
 */
public final class Safetensors {
    /** The safetensors reference implementation refuses headers larger than this; so do we. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One stored tensor: little-endian, row-major bytes in {@code data}, read from {@code file}. */
    public record Tensor(String name, DType dtype, long[] shape, MemorySegment data, Path file) {
        public Tensor {
            shape = shape.clone();
        }

        @Override public long[] shape() { return shape.clone(); }

        /** Product of the shape (1 for a scalar). */
        public long elements() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }

        /** This tensor, after checking it holds F32, F16 or BF16 values. */
        public Tensor requireFloat() {
            if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
                throw new ModelFormatException(file, "tensor " + name + " has dtype " + dtype
                        + ", expected F32, F16 or BF16");
            }
            return this;
        }

        /** This tensor, after checking its shape is exactly {@code expected}. */
        public Tensor requireShape(long... expected) {
            if (!Arrays.equals(shape, expected)) {
                throw new ModelFormatException(file, "tensor " + name + " has shape " + Arrays.toString(shape)
                        + ", expected " + Arrays.toString(expected));
            }
            return this;
        }

        /** A 2-D float tensor as a weight matrix (out x in) over the mapped bytes, without copying. */
        public DenseWeight asWeight() {
            requireFloat();
            if (shape.length != 2 || shape[0] > Integer.MAX_VALUE || shape[1] > Integer.MAX_VALUE) {
                throw new ModelFormatException(file, "tensor " + name + " has shape " + Arrays.toString(shape)
                        + ", expected a matrix");
            }
            return new DenseWeight(dtype, (int) shape[0], (int) shape[1], data);
        }

        /** The values of a float tensor, converted to a fresh F32 heap array (for small tensors). */
        public float[] toFloats() {
            requireFloat();
            long n = elements();
            if (n > Integer.MAX_VALUE - 8) {
                throw new ModelFormatException(file, "tensor " + name + " has " + n + " elements, too many for one array");
            }
            float[] out = new float[(int) n];
            new DenseWeight(dtype, 1, (int) n, data).row(0, out, 0); // one row, no copy of the stored bytes
            return out;
        }
    }

    private final Path file;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    private Safetensors(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.file = file;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Maps and validates {@code file}; the mapping is released when nothing taken from it is reachable. */
    public static Safetensors open(Path file) {
        MemorySegment all;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read safetensors file (" + e.getMessage() + ")", e);
        }
        long size = all.byteSize();
        if (size < 8) throw new ModelFormatException(file, "truncated: " + size + " bytes, a safetensors file needs at least 8");
        long headerLen = all.get(I64_LE, 0);
        if (headerLen < 0 || headerLen > size - 8) {
            throw new ModelFormatException(file, "header length " + headerLen + " runs past the end of the "
                    + size + "-byte file (truncated or not safetensors)");
        }
        if (headerLen > MAX_HEADER_BYTES) {
            throw new ModelFormatException(file, "header of " + headerLen + " bytes is larger than the "
                    + MAX_HEADER_BYTES + "-byte limit");
        }
        JsonNode header;
        try {
            header = JSON.readTree(all.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE));
        } catch (JacksonException e) {
            throw new ModelFormatException(file, "header is not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read header (" + e.getMessage() + ")", e);
        }
        if (header == null || !header.isObject()) throw new ModelFormatException(file, "header is not a JSON object");
        MemorySegment body = all.asSlice(8 + headerLen);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : header.properties()) {
            if (e.getKey().equals(METADATA_KEY)) {
                readMetadata(file, e.getValue(), metadata);
            } else {
                tensors.put(e.getKey(), readTensor(file, e.getKey(), e.getValue(), body));
            }
        }
        return new Safetensors(file, tensors, metadata);
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) throw new ModelFormatException(file, METADATA_KEY + " is not a JSON object");
        for (Map.Entry<String, JsonNode> m : node.properties()) {
            if (!m.getValue().isTextual()) {
                throw new ModelFormatException(file, METADATA_KEY + "." + m.getKey() + " is not a string");
            }
            out.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static Tensor readTensor(Path file, String name, JsonNode node, MemorySegment body) {
        JsonNode dt = node.get("dtype"), sh = node.get("shape"), off = node.get("data_offsets");
        if (dt == null || !dt.isTextual() || sh == null || !sh.isArray() || off == null || !off.isArray()
                || off.size() != 2) {
            throw new ModelFormatException(file, "tensor " + name
                    + " needs a string dtype, an array shape and two data_offsets, got " + node);
        }
        DType dtype;
        try {
            dtype = DType.valueOf(dt.textValue());
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, "tensor " + name + " has unknown dtype " + dt.textValue()
                    + " (known: " + Arrays.toString(DType.values()) + ")");
        }
        long[] shape = new long[sh.size()];
        long bytes = dtype.bytes();
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToExactIntegral() || d.asLong() < 0) {
                throw new ModelFormatException(file, "tensor " + name + " has a bad shape " + sh);
            }
            shape[i] = d.asLong();
            try {
                bytes = Math.multiplyExact(bytes, shape[i]);
            } catch (ArithmeticException ex) {
                throw new ModelFormatException(file, "tensor " + name + " shape " + sh + " is too large");
            }
        }
        JsonNode b0 = off.get(0), b1 = off.get(1);
        if (!b0.canConvertToExactIntegral() || !b1.canConvertToExactIntegral()) {
            throw new ModelFormatException(file, "tensor " + name + " has non-integer data_offsets " + off);
        }
        long begin = b0.asLong(), end = b1.asLong();
        if (begin < 0 || end < begin || end > body.byteSize()) {
            throw new ModelFormatException(file, "tensor " + name + " data_offsets [" + begin + ", " + end
                    + "] lie outside the " + body.byteSize() + "-byte data section (truncated file?)");
        }
        if (end - begin != bytes) {
            throw new ModelFormatException(file, "tensor " + name + " data_offsets [" + begin + ", " + end
                    + "] span " + (end - begin) + " bytes but " + dtype + " " + Arrays.toString(shape)
                    + " needs " + bytes);
        }
        return new Tensor(name, dtype, shape, body.asSlice(begin, bytes), file);
    }

    /** The file this was read from. */
    public Path file() { return file; }

    /** Tensor names in header order. */
    public Set<String> names() { return tensors.keySet(); }

    /** The named tensor; a {@link ModelFormatException} naming the file when it is absent. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new ModelFormatException(file, "missing tensor " + name);
        return t;
    }

    /** The optional {@code __metadata__} string map (empty when absent). */
    public Map<String, String> metadata() { return metadata; }
}
