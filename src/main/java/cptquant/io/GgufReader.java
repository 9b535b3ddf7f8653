package cptquant.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the header, metadata and tensor infos of a GGUF v2/v3 little-endian file (v1 and big-endian
 * files are refused). Every count and length is checked against the file size before it is trusted,
 * so a corrupt file gives a {@link ModelFormatException} rather than a huge allocation.
 */
public final class GgufReader {
    private static final int MAGIC = 0x46554747;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final MemorySegment seg;
    private long pos;

    private GgufReader(Path file, MemorySegment seg) {
        this.file = file;
        this.seg = seg;
    }

    /** Parses {@code file}'s header, metadata and tensor infos. */
    public static GgufFile read(Path file) {
        try (FileChannel ch = FileChannel.open(file); Arena arena = Arena.ofConfined()) {
            return new GgufReader(file, ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena)).parse();
        } catch (IndexOutOfBoundsException e) {
            throw new ModelFormatException(file, "truncated GGUF header", e);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    private GgufFile parse() {
        if (seg.byteSize() < 24 || seg.get(I32, 0) != MAGIC) throw bad("not a GGUF file (no GGUF magic)");
        pos = 4;
        int version = i32();
        if (version != 2 && version != 3) {
            throw bad("unsupported GGUF version " + Integer.toUnsignedString(version) + " (big-endian or v1 files are not read)");
        }
        long tensorCount = count("tensor", 8);
        long kvCount = count("metadata", 8);
        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = string();
            GgufValue.Type type = type();
            if (metadata.put(key, value(type)) != null) throw bad("duplicate metadata key " + key);
        }
        int alignment = alignment(metadata.get("general.alignment"));
        List<GgufTensorInfo> tensors = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = string();
            int dims = i32();
            if (dims < 1 || dims > GgufWriter.MAX_DIMS) throw bad("tensor " + name + " has " + dims + " dimensions");
            long[] ne = new long[dims];
            for (int d = 0; d < dims; d++) {
                ne[d] = i64();
                if (ne[d] <= 0) throw bad("tensor " + name + " has dimension " + Long.toUnsignedString(ne[d]));
            }
            GgufTensorInfo t = new GgufTensorInfo(name, i32(), ne, i64());
            if (t.offset() < 0 || t.offset() % alignment != 0) throw bad("tensor " + name + " has misaligned offset " + t.offset());
            tensors.add(t);
        }
        long dataOffset = (pos + alignment - 1) / alignment * alignment;
        for (GgufTensorInfo t : tensors) {
            long end = t.type().map(type -> dataOffset + t.offset() + type.bytes(t.count())).orElse(dataOffset + t.offset());
            if (end > seg.byteSize()) throw bad("tensor " + t.name() + " data runs past the end of the file");
        }
        return new GgufFile(file, version, metadata, List.copyOf(tensors), alignment, dataOffset);
    }

    private int alignment(GgufValue v) {
        if (v == null) return GgufWriter.ALIGNMENT;
        if (v instanceof GgufValue.IntValue(GgufValue.Type t, long a) && t == GgufValue.Type.UINT32 && a > 0 && Long.bitCount(a) == 1) {
            return (int) a;
        }
        throw bad("general.alignment must be a power-of-two UINT32, got " + v);
    }

    private GgufValue value(GgufValue.Type type) {
        return switch (type) {
            case UINT8 -> new GgufValue.IntValue(type, seg.get(ValueLayout.JAVA_BYTE, advance(1)) & 0xffL);
            case INT8 -> new GgufValue.IntValue(type, seg.get(ValueLayout.JAVA_BYTE, advance(1)));
            case UINT16 -> new GgufValue.IntValue(type, seg.get(I16, advance(2)) & 0xffffL);
            case INT16 -> new GgufValue.IntValue(type, seg.get(I16, advance(2)));
            case UINT32 -> new GgufValue.IntValue(type, i32() & 0xffff_ffffL);
            case INT32 -> new GgufValue.IntValue(type, i32());
            case UINT64, INT64 -> new GgufValue.IntValue(type, i64());
            case FLOAT32 -> new GgufValue.FloatValue(type, Float.intBitsToFloat(i32()));
            case FLOAT64 -> new GgufValue.FloatValue(type, Double.longBitsToDouble(i64()));
            case BOOL -> {
                byte b = seg.get(ValueLayout.JAVA_BYTE, advance(1));
                if (b != 0 && b != 1) throw bad("BOOL value " + b + " at byte " + (pos - 1));
                yield new GgufValue.BoolValue(b == 1);
            }
            case STRING -> new GgufValue.StringValue(string());
            case ARRAY -> {
                GgufValue.Type element = type();
                long n = count("array element", 1);
                List<GgufValue> elements = new ArrayList<>((int) Math.min(n, 1 << 20));
                for (long i = 0; i < n; i++) elements.add(value(element));
                yield new GgufValue.ArrayValue(element, elements);
            }
        };
    }

    private GgufValue.Type type() {
        int id = i32();
        GgufValue.Type t = GgufValue.Type.byId(id);
        if (t == null) throw bad("unknown metadata value type " + id + " at byte " + (pos - 4));
        return t;
    }

    /** A uint64 count of items of at least {@code minBytes} each, checked against the bytes left. */
    private long count(String what, long minBytes) {
        long n = i64();
        if (n < 0 || n > (seg.byteSize() - pos) / minBytes) throw bad(what + " count " + Long.toUnsignedString(n) + " exceeds the file");
        return n;
    }

    private String string() {
        long len = count("string byte", 1);
        // Lenient decoding: some vocabularies hold byte-level pieces that are not valid UTF-8 on their own.
        return new String(seg.asSlice(advance(len), len).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    private int i32() { return seg.get(I32, advance(4)); }

    private long i64() { return seg.get(I64, advance(8)); }

    private long advance(long n) {
        long at = pos;
        pos += n;
        return at;
    }

    private ModelFormatException bad(String problem) {
        return new ModelFormatException(file, problem);
    }
}
