package cptquant.io;

import cptquant.quant.GgmlBlocks;
import cptquant.quant.GgmlType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a GGUF v3 little-endian file: header, metadata, tensor infos, then each tensor's data encoded
 * in its ggml type at offsets aligned to {@link #ALIGNMENT} (GGUF's default, so no general.alignment key
 * is written). Tensors are encoded while they are written, a chunk at a time, and the file appears
 * atomically when complete.
 */
public final class GgufWriter {
    /** Alignment of the data section and of every tensor's data within it. */
    public static final int ALIGNMENT = 32;
    /** ggml's GGML_MAX_DIMS. */
    static final int MAX_DIMS = 4;
    /** ggml's GGML_MAX_NAME, including the terminating zero byte ggml needs. */
    static final int MAX_NAME_BYTES = 63;
    private static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
    private static final int VERSION = 3;
    private static final int CHUNK_BLOCKS = 1 << 14;

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    private record Tensor(String name, GgmlType type, long[] ne, float[] values) {
        long bytes() { return type.bytes(values.length); }
    }

    /** Adds a metadata key (e.g. "general.architecture"); keys are unique and kept in insertion order. */
    public GgufWriter put(String key, GgufValue value) {
        if (key.isEmpty() || key.getBytes(StandardCharsets.UTF_8).length > 65535) {
            throw new IllegalArgumentException("metadata key must be 1..65535 bytes: '" + key + "'");
        }
        if (key.equals("general.alignment")) {
            throw new IllegalArgumentException("general.alignment is fixed at " + ALIGNMENT + " by the writer");
        }
        if (metadata.putIfAbsent(key, value) != null) throw new IllegalArgumentException("duplicate metadata key " + key);
        return this;
    }

    /**
     * Adds a tensor stored as {@code type}. {@code ne} lists dimensions innermost first, as ggml does: a
     * PyTorch weight of shape [out, in] has ne = [in, out]. {@code values} are row-major (ne[0] contiguous)
     * and are read when the file is written; block types need ne[0] to be a multiple of their block size.
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] ne, float[] values) {
        if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("tensor name must be 1.." + MAX_NAME_BYTES + " bytes: '" + name + "'");
        }
        if (ne.length == 0 || ne.length > MAX_DIMS) {
            throw new IllegalArgumentException(name + ": 1.." + MAX_DIMS + " dimensions, got " + ne.length);
        }
        long count = 1;
        for (long d : ne) {
            if (d <= 0) throw new IllegalArgumentException(name + ": dimensions must be positive, got " + Arrays.toString(ne));
            count *= d;
        }
        if (count != values.length) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(ne) + " holds " + count + " values, got " + values.length);
        }
        if (!type.fitsRow(ne[0])) {
            throw new IllegalArgumentException(name + ": rows of " + ne[0] + " values cannot be stored as " + type
                    + " (blocks of " + type.blockSize() + ")");
        }
        if (tensors.putIfAbsent(name, new Tensor(name, type, ne.clone(), values)) != null) {
            throw new IllegalArgumentException("duplicate tensor " + name);
        }
        return this;
    }

    /** Writes the file atomically (temporary file, then rename). */
    public void write(Path target) {
        AtomicFiles.write(target, out -> {
            LeBuffer header = header();
            header.padTo(ALIGNMENT);
            AtomicFiles.writeFully(out, header.flip());
            for (Tensor t : tensors.values()) writeData(out, t);
        });
    }

    private LeBuffer header() {
        LeBuffer h = new LeBuffer();
        h.i32(MAGIC).i32(VERSION).i64(tensors.size()).i64(metadata.size());
        metadata.forEach((key, value) -> {
            h.string(key).i32(value.type().id());
            value(h, value);
        });
        long offset = 0;
        for (Tensor t : tensors.values()) {
            h.string(t.name()).i32(t.ne().length);
            for (long d : t.ne()) h.i64(d);
            h.i32(t.type().id()).i64(offset);
            offset = align(offset + t.bytes());
        }
        return h;
    }

    private static void value(LeBuffer h, GgufValue value) {
        switch (value) {
            case GgufValue.IntValue v -> {
                switch (v.type()) {
                    case UINT8, INT8 -> h.i8((int) v.value());
                    case UINT16, INT16 -> h.i16((int) v.value());
                    case UINT32, INT32 -> h.i32((int) v.value());
                    default -> h.i64(v.value());
                }
            }
            case GgufValue.FloatValue v -> {
                if (v.type() == GgufValue.Type.FLOAT32) h.f32((float) v.value()); else h.f64(v.value());
            }
            case GgufValue.BoolValue v -> h.i8(v.value() ? 1 : 0);
            case GgufValue.StringValue v -> h.string(v.value());
            case GgufValue.ArrayValue v -> {
                h.i32(v.elementType().id()).i64(v.elements().size());
                for (GgufValue e : v.elements()) value(h, e);
            }
        }
    }

    private static void writeData(FileChannel out, Tensor t) throws IOException {
        int block = t.type().blockSize();
        int chunk = CHUNK_BLOCKS * block;
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BLOCKS * t.type().blockBytes() + ALIGNMENT);
        float[] v = t.values();
        for (int from = 0; from < v.length; from += chunk) {
            buf.clear();
            GgmlBlocks.encode(t.type(), v, from, Math.min(chunk, v.length - from), buf);
            if (from + chunk >= v.length) {
                // Full chunks are multiples of 32 bytes, so the buffer position tells the padding needed.
                while (buf.position() % ALIGNMENT != 0) buf.put((byte) 0);
            }
            AtomicFiles.writeFully(out, buf.flip());
        }
    }

    static long align(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class LeBuffer {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private ByteBuffer room(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
                buf = bigger.put(buf.flip());
            }
            return buf;
        }

        LeBuffer i8(int v) { room(1).put((byte) v); return this; }

        LeBuffer i16(int v) { room(2).putShort((short) v); return this; }

        LeBuffer i32(int v) { room(4).putInt(v); return this; }

        LeBuffer i64(long v) { room(8).putLong(v); return this; }

        LeBuffer f32(float v) { room(4).putFloat(v); return this; }

        LeBuffer f64(double v) { room(8).putDouble(v); return this; }

        LeBuffer string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            room(b.length).put(b);
            return this;
        }

        void padTo(int alignment) {
            while (buf.position() % alignment != 0) i8(0);
        }

        ByteBuffer flip() { return buf.flip(); }
    }
}
