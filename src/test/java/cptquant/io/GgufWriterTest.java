package cptquant.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.quant.GgmlBlocks;
import cptquant.quant.GgmlType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufWriterTest {
    @TempDir Path dir;

    static float[] gaussian(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    /** What the reader must give back for {@code x} stored as {@code type}: the codec's own round trip. */
    static float[] stored(GgmlType type, float[] x) {
        ByteBuffer b = ByteBuffer.allocate((int) type.bytes(x.length));
        GgmlBlocks.encode(type, x, 0, x.length, b);
        float[] back = new float[x.length];
        GgmlBlocks.decode(type, b.flip(), back, 0, x.length);
        return back;
    }

    @Test
    void metadataOfEveryTypeAndTensorsOfEveryTypeRoundTrip() throws IOException {
        Map<String, GgufValue> meta = new LinkedHashMap<>();
        meta.put("general.architecture", GgufValue.string("llama"));
        meta.put("general.name", GgufValue.string("naïve ✓ model"));
        meta.put("t.u8", new GgufValue.IntValue(GgufValue.Type.UINT8, 255));
        meta.put("t.i8", new GgufValue.IntValue(GgufValue.Type.INT8, -128));
        meta.put("t.u16", new GgufValue.IntValue(GgufValue.Type.UINT16, 65535));
        meta.put("t.i16", new GgufValue.IntValue(GgufValue.Type.INT16, -32768));
        meta.put("t.u32", GgufValue.uint32(0xffff_fffeL));
        meta.put("t.i32", GgufValue.int32(-7));
        meta.put("t.u64", GgufValue.uint64(-1L));
        meta.put("t.i64", new GgufValue.IntValue(GgufValue.Type.INT64, Long.MIN_VALUE));
        meta.put("t.f32", GgufValue.float32(1e-5f));
        meta.put("t.f64", new GgufValue.FloatValue(GgufValue.Type.FLOAT64, Math.PI));
        meta.put("t.bool", GgufValue.bool(true));
        meta.put("t.strings", GgufValue.strings(List.of("<unk>", "<s>", "</s>", "▁the", "")));
        meta.put("t.floats", GgufValue.float32s(new float[] {0, -1000, 3.5f}));
        meta.put("t.ints", GgufValue.int32s(new int[] {2, 3, 3, 1}));
        meta.put("t.empty", GgufValue.int32s(new int[0]));
        meta.put("t.nested", new GgufValue.ArrayValue(GgufValue.Type.ARRAY,
                List.of(GgufValue.int32s(new int[] {1, 2}), GgufValue.int32s(new int[] {3}))));

        GgufWriter w = new GgufWriter();
        meta.forEach(w::put);
        // One tensor per type, odd sizes so padding matters; the Q8_0 one spans several encoder chunks.
        record T(String name, GgmlType type, long[] ne, float[] x) {}
        List<T> ts = List.of(
                new T("output_norm.weight", GgmlType.F32, new long[] {7}, gaussian(7, 1)),
                new T("blk.0.attn_q.weight", GgmlType.F16, new long[] {33, 3}, gaussian(99, 2)),
                new T("blk.0.ffn_down.weight", GgmlType.Q8_0, new long[] {32 * 1025, 17}, gaussian(32 * 1025 * 17, 3)),
                new T("blk.0.ffn_up.weight", GgmlType.Q4_0, new long[] {64, 3}, gaussian(192, 4)),
                new T("token_embd.weight", GgmlType.Q4_1, new long[] {96, 5, 1}, gaussian(480, 5)));
        for (T t : ts) w.addTensor(t.name(), t.type(), t.ne(), t.x());
        Path file = dir.resolve("out/model.gguf");
        w.write(file);

        byte[] head = Arrays.copyOf(Files.readAllBytes(file), 24);
        assertArrayEquals("GGUF".getBytes(), Arrays.copyOf(head, 4));
        ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(3, h.getInt(4));
        assertEquals(ts.size(), h.getLong(8));
        assertEquals(meta.size(), h.getLong(16));
        assertEquals(List.of(file), Files.list(file.getParent()).toList(), "no temporary file left behind");
        if (file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            assertEquals(Files.getPosixFilePermissions(Files.createFile(dir.resolve("probe"))), Files.getPosixFilePermissions(file),
                    "the export gets the permissions of any new file (umask), not a temp file's owner-only ones");
        }

        GgufFile g = GgufReader.read(file);
        assertEquals(3, g.version());
        assertEquals(meta, g.metadata());
        assertEquals(List.copyOf(meta.keySet()), List.copyOf(g.metadata().keySet()), "file order kept");
        assertEquals(32, g.alignment());
        assertEquals(0, g.dataOffset() % 32);
        assertEquals(ts.size(), g.tensors().size());
        long end = 0;
        for (int i = 0; i < ts.size(); i++) {
            T t = ts.get(i);
            GgufTensorInfo info = g.tensors().get(i);
            assertEquals(t.name(), info.name());
            assertEquals(t.type().id(), info.ggmlType());
            assertArrayEquals(t.ne(), info.ne());
            assertEquals(0, info.offset() % 32);
            assertEquals(GgufWriter.align(end), info.offset(), "tensors packed in order");
            end = info.offset() + t.type().bytes(t.x().length);
            float[] expected = t.type() == GgmlType.F32 ? t.x() : stored(t.type(), t.x());
            assertArrayEquals(expected, g.values(info), t.name());
        }
        assertEquals(g.dataOffset() + GgufWriter.align(end), Files.size(file), "data section padded to 32");
    }

    @Test
    void tensorWithoutMetadataStillAlignsData() {
        Path file = dir.resolve("bare.gguf");
        new GgufWriter().addTensor("x", GgmlType.F16, new long[] {3}, new float[] {1, 2, 3}).write(file);
        GgufFile g = GgufReader.read(file);
        assertTrue(g.metadata().isEmpty());
        assertEquals(0, g.dataOffset() % 32);
        assertArrayEquals(new float[] {1, 2, 3}, g.values(g.tensor("x").orElseThrow()));
    }

    @Test
    void writerRefusesWhatGgmlCannotLoad() {
        GgufWriter w = new GgufWriter().put("a.b", GgufValue.bool(false));
        assertThrows(IllegalArgumentException.class, () -> w.put("a.b", GgufValue.bool(true)));
        assertThrows(IllegalArgumentException.class, () -> w.put("general.alignment", GgufValue.uint32(64)));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("q", GgmlType.Q4_0, new long[] {48, 2}, new float[96]),
                "rows of 48 are not whole 32-blocks");
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("s", GgmlType.F32, new long[] {4, 2}, new float[7]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("n".repeat(64), GgmlType.F32, new long[] {1}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("d", GgmlType.F32, new long[] {1, 1, 1, 1, 1}, new float[1]));
        w.addTensor("t", GgmlType.F32, new long[] {1}, new float[1]);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[] {1}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.uint32(-1));
        assertThrows(IllegalArgumentException.class, () -> new GgufValue.ArrayValue(GgufValue.Type.INT32, List.of(GgufValue.uint32(1))));
    }

    @Test
    void readerRejectsCorruptFilesWithOneLineNamingTheFile() throws IOException {
        Path good = dir.resolve("good.gguf");
        new GgufWriter().put("general.name", GgufValue.string("x"))
                .addTensor("w", GgmlType.Q8_0, new long[] {32, 2}, gaussian(64, 9)).write(good);
        byte[] bytes = Files.readAllBytes(good);

        Path truncated = dir.resolve("truncated.gguf");
        Files.write(truncated, Arrays.copyOf(bytes, 40));
        var e = assertThrows(ModelFormatException.class, () -> GgufReader.read(truncated));
        assertTrue(e.getMessage().startsWith(truncated.toString()), e.getMessage());

        Path shortData = dir.resolve("short-data.gguf");
        Files.write(shortData, Arrays.copyOf(bytes, bytes.length - 40));
        assertTrue(assertThrows(ModelFormatException.class, () -> GgufReader.read(shortData)).getMessage().contains("past the end"));

        Path notGguf = dir.resolve("x.gguf");
        Files.writeString(notGguf, "PK not a gguf file at all, just text");
        assertTrue(assertThrows(ModelFormatException.class, () -> GgufReader.read(notGguf)).getMessage().contains("magic"));

        byte[] hugeCount = bytes.clone();
        ByteBuffer.wrap(hugeCount).order(ByteOrder.LITTLE_ENDIAN).putLong(16, 1L << 40);
        Path huge = dir.resolve("huge.gguf");
        Files.write(huge, hugeCount);
        assertTrue(assertThrows(ModelFormatException.class, () -> GgufReader.read(huge)).getMessage().contains("exceeds the file"));
    }
}
