package cptquant.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import cptquant.tensor.DType;
import cptquant.tensor.DenseWeight;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir Path dir;

    private static float[] randoms(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    @Test
    void roundTripsEveryDtypeAndMetadata() throws IOException {
        float[] w = randoms(6 * 5, 1);
        byte[] codes = {1, 2, (byte) 250, 4};
        int[] ints = {7, -3, 1 << 30};
        Path f = dir.resolve("sub/model.safetensors");
        new SafetensorsWriter()
                .metadata("format", "pt")
                .addFloats("w32", DType.F32, new long[] {6, 5}, w)
                .addFloats("w16", DType.F16, new long[] {6, 5}, w)
                .addFloats("wbf", DType.BF16, new long[] {6, 5}, w)
                .add("codes", DType.U8, new long[] {2, 2}, MemorySegment.ofArray(codes))
                .add("signed", DType.I8, new long[] {4}, MemorySegment.ofArray(codes))
                .add("ints", DType.I32, new long[] {3}, MemorySegment.ofArray(ints))
                .addFloats("scalar", DType.F32, new long[] {}, new float[] {2.5f})
                .write(f);
        try (var list = Files.list(f.getParent())) {
            assertEquals(1, list.count(), "no temporary file is left beside the output");
        }
        // The data section starts 8-byte aligned, as the reference writer pads it.
        long headerLen = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8);

        Safetensors st = Safetensors.open(f);
        assertEquals(Map.of("format", "pt"), st.metadata());
        assertEquals(List.of("w32", "w16", "wbf", "codes", "signed", "ints", "scalar"), List.copyOf(st.names()));
        assertArrayEquals(w, st.tensor("w32").toFloats());
        float[] h = st.tensor("w16").toFloats();
        float[] b = st.tensor("wbf").toFloats();
        for (int i = 0; i < w.length; i++) {
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(w[i])), h[i]);
            assertEquals(w[i], b[i], Math.abs(w[i]) / 128);
        }
        DenseWeight dw = st.tensor("w16").asWeight();
        assertEquals(DType.F16, dw.dtype());
        assertEquals(6, dw.outFeatures());
        assertEquals(5, dw.inFeatures());
        assertArrayEquals(h, dw.toFloat());
        assertEquals(DType.U8, st.tensor("codes").dtype());
        assertArrayEquals(codes, st.tensor("codes").data().toArray(ValueLayout.JAVA_BYTE));
        assertArrayEquals(ints, st.tensor("ints").data().toArray(ValueLayout.JAVA_INT_UNALIGNED));
        assertArrayEquals(new long[] {}, st.tensor("scalar").shape());
        assertArrayEquals(new float[] {2.5f}, st.tensor("scalar").toFloats());

        // Rewriting replaces the file in place.
        new SafetensorsWriter().addFloats("only", DType.F32, new long[] {1}, new float[] {1}).write(f);
        assertEquals(Set.of("only"), Safetensors.open(f).names());
    }

    @Test
    void streamsRawSegmentsLargerThanOneChunk() {
        float[] big = randoms(700_000, 2); // 2.8 MB: several write chunks
        Path f = dir.resolve("big.safetensors");
        new SafetensorsWriter().add("big", DType.F32, new long[] {700, 1000}, MemorySegment.ofArray(big)).write(f);
        assertArrayEquals(big, Safetensors.open(f).tensor("big").toFloats());
    }

    @Test
    void writerRejectsMismatchedSizes() {
        var w = new SafetensorsWriter();
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("a", DType.F32, new long[] {3}, new float[2]));
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("a", DType.U8, new long[] {2}, new float[2]));
        w.addFloats("a", DType.F32, new long[] {2}, new float[2]);
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("a", DType.F32, new long[] {2}, new float[2]));
    }

    /** A file from a length prefix and raw header text, then {@code dataBytes} zero bytes. */
    private Path raw(String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        Path f = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private static void assertFormatError(Path file, String expected, Runnable r) {
        ModelFormatException e = assertThrows(ModelFormatException.class, r::run);
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void rejectsMalformedFiles() throws IOException {
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertFormatError(tiny, "truncated: 3 bytes", () -> Safetensors.open(tiny));

        Path missing = dir.resolve("absent.safetensors");
        assertFormatError(missing, "cannot read", () -> Safetensors.open(missing));

        Path pastEnd = dir.resolve("pastend.safetensors");
        Files.write(pastEnd, ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array());
        assertFormatError(pastEnd, "header length 1000 runs past the end", () -> Safetensors.open(pastEnd));

        Path badJson = raw("{\"a\": {\"dtype\": ", 0);
        assertFormatError(badJson, "not valid JSON", () -> Safetensors.open(badJson));

        Path notObject = raw("[1, 2]", 0);
        assertFormatError(notObject, "not a JSON object", () -> Safetensors.open(notObject));

        Path unknown = raw("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        assertFormatError(unknown, "unknown dtype F8_E4M3", () -> Safetensors.open(unknown));

        Path outside = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        assertFormatError(outside, "lie outside the 8-byte data section", () -> Safetensors.open(outside));

        Path negative = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8);
        assertFormatError(negative, "lie outside", () -> Safetensors.open(negative));

        Path inconsistent = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
        assertFormatError(inconsistent, "span 8 bytes but F32 [3] needs 12", () -> Safetensors.open(inconsistent));

        Path noShape = raw("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4);
        assertFormatError(noShape, "tensor a needs", () -> Safetensors.open(noShape));

        Path badMeta = raw("{\"__metadata__\":{\"k\":1}}", 0);
        assertFormatError(badMeta, "__metadata__.k is not a string", () -> Safetensors.open(badMeta));
    }

    @Test
    void reportsMissingTensorsWrongShapesAndDtypes() {
        Path f = dir.resolve("m.safetensors");
        new SafetensorsWriter()
                .addFloats("w", DType.F32, new long[] {2, 3}, new float[6])
                .add("codes", DType.U8, new long[] {4}, MemorySegment.ofArray(new byte[4]))
                .addFloats("v", DType.F32, new long[] {2, 1, 3}, new float[6])
                .write(f);
        Safetensors st = Safetensors.open(f);
        assertFormatError(f, "missing tensor nope", () -> st.tensor("nope"));
        assertFormatError(f, "tensor w has shape [2, 3], expected [3, 2]", () -> st.tensor("w").requireShape(3, 2));
        st.tensor("w").requireShape(2, 3);
        assertFormatError(f, "tensor codes has dtype U8, expected F32, F16 or BF16", () -> st.tensor("codes").asWeight());
        assertFormatError(f, "expected a matrix", () -> st.tensor("v").asWeight());
    }

    @Test
    void mapsFilesLargerThanTwoGigabytes() throws IOException {
        long pad = 2_200_000_000L;
        float[] tail = {1.5f, -2f, 3.25f, 1e-3f};
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + pad + "],\"data_offsets\":[0," + pad + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + pad + "," + (pad + 16) + "]}}";
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        Path f = dir.resolve("huge.safetensors");
        long dataStart = 8 + json.length;
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            try {
                raf.setLength(dataStart + pad + 16); // sparse: the padding takes no disk space
            } catch (IOException e) {
                assumeTrue(false, "skipped: filesystem refuses a sparse 2.2 GB file (" + e.getMessage() + ")");
            }
            ByteBuffer b = ByteBuffer.allocate((int) dataStart).order(ByteOrder.LITTLE_ENDIAN);
            raf.write(b.putLong(json.length).put(json).array());
            raf.seek(dataStart + pad);
            ByteBuffer t = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : tail) t.putFloat(v);
            raf.write(t.array());
        }
        Safetensors st = Safetensors.open(f);
        assertEquals(pad, st.tensor("pad").data().byteSize());
        assertArrayEquals(tail, st.tensor("tail").toFloats());
        DenseWeight w = st.tensor("tail").asWeight();
        float[] y = new float[2];
        w.matmul(new float[] {1, 1}, 1, y);
        assertArrayEquals(new float[] {-0.5f, 3.251f}, y, 1e-6f);
    }
}
