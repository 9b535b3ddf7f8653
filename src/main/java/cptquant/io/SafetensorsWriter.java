package cptquant.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import cptquant.quant.Quantizer;
import cptquant.tensor.DType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds a .safetensors file: add tensors (float arrays stored as F32/F16/BF16, or raw little-endian
 * bytes of any dtype, e.g. U8 packed codes), optional string metadata, then {@link #write}. Tensor data is
 * streamed to disk in chunks, so sources may be memory-mapped or off-heap and no file-sized array is built.
 * The target appears atomically: written to a temporary file beside it, then renamed.
 */
public final class SafetensorsWriter {
    private static final int CHUNK_BYTES = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where a tensor's bytes come from. */
    private sealed interface Source {
        long byteSize();
    }

    private record Raw(MemorySegment bytes) implements Source {
        @Override public long byteSize() { return bytes.byteSize(); }
    }

    private record Floats(float[] values, DType dtype) implements Source {
        @Override public long byteSize() { return (long) values.length * dtype.bytes(); }
    }

    private record Entry(DType dtype, long[] shape, Source source) {}

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Adds a {@code __metadata__} string entry. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds float values, stored as {@code dtype} (F32, F16 or BF16; 16-bit rounds to nearest even). */
    public SafetensorsWriter addFloats(String name, DType dtype, long[] shape, float[] values) {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException(name + ": float values can be stored as F32, F16 or BF16, not " + dtype);
        }
        return put(name, dtype, shape, new Floats(values, dtype));
    }

    /** Adds already-encoded little-endian bytes of {@code dtype} (read when {@link #write} runs). */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, MemorySegment bytes) {
        return put(name, dtype, shape, new Raw(bytes));
    }

    private SafetensorsWriter put(String name, DType dtype, long[] shape, Source source) {
        if (name.equals(Safetensors.METADATA_KEY)) throw new IllegalArgumentException(name + " is reserved");
        if (entries.containsKey(name)) throw new IllegalArgumentException("duplicate tensor " + name);
        long need = dtype.bytes();
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException(name + ": negative dimension in " + Arrays.toString(shape));
            need = Math.multiplyExact(need, d);
        }
        if (source.byteSize() != need) {
            throw new IllegalArgumentException(name + ": " + dtype + " " + Arrays.toString(shape) + " needs " + need
                    + " bytes, got " + source.byteSize());
        }
        entries.put(name, new Entry(dtype, shape.clone(), source));
        return this;
    }

    /** Writes the file atomically (see {@link AtomicFiles}), creating parent directories. */
    public void write(Path target) {
        AtomicFiles.write(target, ch -> {
            writeAll(ch, header());
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (Entry e : entries.values()) writeData(ch, e.source(), buf);
            ch.force(true);
        });
    }

    /** Length prefix plus JSON header, padded with spaces so tensor data starts 8-byte aligned. */
    private ByteBuffer header() throws IOException {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject(Safetensors.METADATA_KEY);
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            Entry t = e.getValue();
            ObjectNode n = root.putObject(e.getKey());
            n.put("dtype", t.dtype().name());
            ArrayNode shape = n.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            long end = offset + t.source().byteSize();
            n.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer b = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(padded).put(json);
        while (b.hasRemaining()) b.put((byte) ' ');
        return b.flip();
    }

    private static void writeData(FileChannel ch, Source source, ByteBuffer buf) throws IOException {
        switch (source) {
            case Raw(MemorySegment bytes) -> {
                // Copied through the direct buffer: heap segments over non-byte arrays have no ByteBuffer view.
                MemorySegment staging = MemorySegment.ofBuffer(buf.clear());
                for (long off = 0; off < bytes.byteSize(); off += CHUNK_BYTES) {
                    int n = (int) Math.min(CHUNK_BYTES, bytes.byteSize() - off);
                    MemorySegment.copy(bytes, off, staging, 0, n);
                    writeAll(ch, buf.clear().limit(n));
                }
            }
            case Floats(float[] values, DType dtype) -> {
                int per = CHUNK_BYTES / dtype.bytes();
                for (int from = 0; from < values.length; from += per) {
                    buf.clear();
                    int to = Math.min(values.length, from + per);
                    for (int i = from; i < to; i++) {
                        switch (dtype) {
                            case F32 -> buf.putFloat(values[i]);
                            case F16 -> buf.putShort(Float.floatToFloat16(values[i]));
                            default -> buf.putShort(Quantizer.toBf16(values[i]));
                        }
                    }
                    writeAll(ch, buf.flip());
                }
            }
        }
    }

    private static void writeAll(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
