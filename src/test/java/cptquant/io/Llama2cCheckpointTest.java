package cptquant.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.TestData;
import cptquant.io.Llama2cCheckpoint.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cCheckpointTest {
    static final String STORIES = "models/stories260K/stories260K.bin";

    @TempDir Path tmp;

    @Test
    void readsTheStories260KHeaderAndWeights() throws IOException {
        Path bin = TestData.require(STORIES);
        Llama2cCheckpoint ck = Llama2cCheckpoint.open(bin);
        assertEquals(new Llama2cCheckpoint.Config(64, 172, 5, 8, 4, 512, true, 512), ck.config());
        assertFalse(ck.present(Tensor.WCLS));
        // rms_final sits right before the rotary tables, which close the file.
        ByteBuffer raw = ByteBuffer.wrap(Files.readAllBytes(bin)).order(ByteOrder.LITTLE_ENDIAN);
        int finalAt = raw.capacity() - 2 * 512 * 4 * 4 - 64 * 4;
        float[] rmsFinal = ck.floats(Tensor.RMS_FINAL, 0);
        for (int i = 0; i < 64; i++) assertEquals(raw.getFloat(finalAt + 4 * i), rmsFinal[i]);
        var w2 = ck.weight(Tensor.W2, 4);
        assertEquals(64, w2.outFeatures());
        assertEquals(172, w2.inFeatures());
        float[] all = ck.floats(Tensor.W2, 4);
        assertTrue(Arrays.equals(all, w2.toFloat()));
    }

    @Test
    void truncatedFileIsRejectedNamingTheFile() throws IOException {
        byte[] full = Files.readAllBytes(TestData.require(STORIES));
        Path cut = tmp.resolve("cut.bin");
        Files.write(cut, Arrays.copyOf(full, full.length - 100));
        var e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.open(cut));
        assertTrue(e.getMessage().startsWith(cut.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());

        Path tiny = tmp.resolve("tiny.bin");
        Files.write(tiny, new byte[10]);
        assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.open(tiny));
    }

    @Test
    void impossibleHeadersAreRejected() throws IOException {
        assertRejected(new int[] {64, 172, 5, 8, 3, 512, 512}, "n_kv_heads");
        assertRejected(new int[] {64, 172, 5, 7, 7, 512, 512}, "n_heads");
        assertRejected(new int[] {64, 172, 0, 8, 4, 512, 512}, "non-positive");
        assertRejected(new int[] {64, 172, 5, 8, 4, 0, 512}, "non-positive");
        assertRejected(new int[] {1 << 20, 2, 1, 2, 2, 1 << 20, 2}, "2^31");
        assertRejected(new int[] {1 << 15, 1 << 15, Integer.MAX_VALUE, 2, 2, 1, 2}, "overflow");
        assertRejected(new int[] {64, 172, 5, 8, 4, -512, 512}, "truncated");
    }

    private void assertRejected(int[] header, String expected) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : header) b.putInt(v);
        Path f = tmp.resolve("bad.bin");
        Files.write(f, b.array());
        var e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.open(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains(expected), e.getMessage());
    }
}
