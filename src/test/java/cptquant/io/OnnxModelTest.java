package cptquant.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelTest {
    private static final int FLOAT = 1, INT64 = 7, STRING = 8;

    @Test
    void readsGraphNodesAttributesAndTensorsInEveryEncoding() {
        byte[] rawLongs = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-3).putLong(1L << 40).array();
        byte[] model = model(List.of(
                tensor(t -> {
                    t.writeString(8, "w");
                    t.writeInt32(2, FLOAT);
                    packedLongs(t, 1, 2, 2);
                    t.writeTag(4, 2);
                    t.writeUInt32NoTag(16);
                    for (float f : new float[] {1f, -2f, 0.5f, 3e-7f}) t.writeFloatNoTag(f);
                }),
                tensor(t -> {
                    t.writeString(8, "ids");
                    t.writeInt32(2, INT64);
                    t.writeInt64(1, 2);
                    t.writeByteArray(9, rawLongs);
                })), List.of(
                node("Constant", List.of(), List.of("c"), a -> {
                    a.writeString(1, "value");
                    a.writeByteArray(5, tensor(t -> {
                        t.writeInt32(2, FLOAT);
                        t.writeByteArray(9, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(1e-12f).array());
                    }));
                }),
                node("Transpose", List.of("x"), List.of("y"), a -> {
                    a.writeString(1, "perm");
                    for (long v : new long[] {0, 2, 1, 3}) a.writeInt64(8, v);
                })));
        OnnxModel m = OnnxModel.parse(model, Path.of("tiny.onnx"));
        var w = (OnnxModel.Initializer.Floats) m.initializers().get("w");
        assertArrayEquals(new long[] {2, 2}, w.dims());
        assertArrayEquals(new float[] {1f, -2f, 0.5f, 3e-7f}, w.data());
        var ids = (OnnxModel.Initializer.Longs) m.initializers().get("ids");
        assertArrayEquals(new long[] {-3, 1L << 40}, ids.data());
        var c = (OnnxModel.Initializer.Floats) m.constant("c").orElseThrow();
        assertEquals(0, c.dims().length);
        assertArrayEquals(new float[] {1e-12f}, c.data());
        assertArrayEquals(new long[] {0, 2, 1, 3}, m.nodes().get(1).attribute("perm").orElseThrow().ints());
        assertEquals(List.of("x"), m.nodes().get(1).inputs());
    }

    @Test
    void truncatedModelNamesTheFile(@TempDir Path dir) throws IOException {
        byte[] real;
        try (InputStream in = OnnxModelTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            real = in.readNBytes(200_000);
        }
        Path file = Files.write(dir.resolve("cut.onnx"), real);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxModel.read(file));
        assertTrue(e.getMessage().startsWith(file + ": truncated"), e.getMessage());
    }

    @Test
    void garbageIsRejected(@TempDir Path dir) throws IOException {
        byte[] noise = new byte[4096];
        new Random(7).nextBytes(noise);
        Path file = Files.write(dir.resolve("noise.onnx"), noise);
        assertTrue(assertThrows(ModelFormatException.class, () -> OnnxModel.read(file)).getMessage().startsWith(file + ": "));
        Path text = Files.writeString(dir.resolve("text.onnx"), "this is a README, not a model\n");
        assertTrue(assertThrows(ModelFormatException.class, () -> OnnxModel.read(text)).getMessage().startsWith(text + ": "));
        Path empty = Files.write(dir.resolve("empty.onnx"), new byte[0]);
        assertTrue(assertThrows(ModelFormatException.class, () -> OnnxModel.read(empty)).getMessage().contains("no graph"));
        Path missing = dir.resolve("missing.onnx");
        assertTrue(assertThrows(ModelFormatException.class, () -> OnnxModel.read(missing)).getMessage().contains("cannot read"));
    }

    @Test
    void rawDataOfTheWrongSizeAndUnknownTypesAreRejected() {
        byte[] shortRaw = model(List.of(tensor(t -> {
            t.writeString(8, "w");
            t.writeInt32(2, FLOAT);
            t.writeInt64(1, 3);
            t.writeByteArray(9, new byte[8]);
        })), List.of());
        String msg = assertThrows(ModelFormatException.class, () -> OnnxModel.parse(shortRaw, Path.of("a.onnx"))).getMessage();
        assertEquals("a.onnx: tensor 'w' raw_data has 8 bytes, shape needs 12", msg);
        byte[] strings = model(List.of(tensor(t -> {
            t.writeString(8, "s");
            t.writeInt32(2, STRING);
        })), List.of());
        msg = assertThrows(ModelFormatException.class, () -> OnnxModel.parse(strings, Path.of("b.onnx"))).getMessage();
        assertEquals("b.onnx: tensor 's' has unsupported data type 8", msg);
    }

    // ---- a minimal protobuf writer for hand-made models ----

    private interface Body {
        void write(CodedOutputStream o) throws IOException;
    }

    private static byte[] message(Body body) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            CodedOutputStream o = CodedOutputStream.newInstance(bytes);
            body.write(o);
            o.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A ModelProto whose graph holds the given initializers and nodes. */
    private static byte[] model(List<byte[]> initializers, List<byte[]> nodes) {
        return message(o -> o.writeByteArray(7, message(g -> {
            for (byte[] n : nodes) g.writeByteArray(1, n);
            for (byte[] t : initializers) g.writeByteArray(5, t);
        })));
    }

    private static byte[] tensor(Body body) {
        return message(body);
    }

    /** A NodeProto with one attribute. */
    private static byte[] node(String op, List<String> in, List<String> out, Body attribute) {
        return message(o -> {
            for (String s : in) o.writeString(1, s);
            for (String s : out) o.writeString(2, s);
            o.writeString(4, op);
            o.writeByteArray(5, message(attribute));
        });
    }

    private static void packedLongs(CodedOutputStream o, int field, long... values) throws IOException {
        o.writeByteArray(field, message(p -> {
            for (long v : values) p.writeInt64NoTag(v);
        }));
    }
}
