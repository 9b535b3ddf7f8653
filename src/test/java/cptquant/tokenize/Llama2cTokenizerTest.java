package cptquant.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.TestData;
import cptquant.io.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cTokenizerTest {
    static final String TOK = "models/stories260K/tok512.bin";

    @TempDir Path tmp;

    @Test
    void encodesThePromptAsLlama2cDoes() {
        Llama2cTokenizer t = Llama2cTokenizer.read(TestData.require(TOK));
        assertEquals(512, t.vocabSize());
        // REFERENCE.md: llama2.c's encoding, dummy leading space included.
        assertArrayEquals(new int[] {1, 403, 407, 261, 378}, t.encode("Once upon a time", 100));
        assertArrayEquals(new int[] {403, 407, 261, 378}, t.encodePlain("Once upon a time"));
        assertArrayEquals(new int[] {1, 403}, t.encode("Once upon a time", 2));
        assertArrayEquals(new int[0], t.encodePlain(""));
    }

    @Test
    void besideFindsTheTokenizerNextToTheCheckpoint() {
        Path bin = TestData.require("models/stories260K/stories260K.bin");
        assertEquals(512, Llama2cTokenizer.beside(bin).vocabSize());
        var e = assertThrows(ModelFormatException.class, () -> Llama2cTokenizer.beside(tmp.resolve("x.bin")));
        assertTrue(e.getMessage().contains("tok512.bin"), e.getMessage());
    }

    @Test
    void roundTripsTextIncludingByteFallbackCharacters() {
        Llama2cTokenizer t = Llama2cTokenizer.read(TestData.require(TOK));
        for (String s : List.of("Once upon a time", "Lily said, \"Hi!\"\nTom ran.", "café ☕ naïve 𝄞", "  two  spaces ")) {
            int[] ids = t.encode(s, Integer.MAX_VALUE);
            assertEquals(s, t.decode(ids), () -> Arrays.toString(ids));
            // Without BOS the dummy prefix stays, as llama2.c prints it.
            assertEquals(" " + s, t.decode(t.encodePlain(s)));
        }
        // Byte fallback: the 4-byte UTF-8 of U+1D11E becomes four <0xXX> tokens.
        assertEquals(4, t.encodePlain("𝄞").length - 1);
    }

    @Test
    void heapMergeEqualsLlama2cQuadraticMerge() throws IOException {
        Path file = TestData.require(TOK);
        Llama2cTokenizer t = Llama2cTokenizer.read(file);
        String wiki = Files.readString(TestData.require("data/wikitext-2-raw/wiki.test.raw"));
        Reference ref = new Reference(file);
        for (int start = 0; start < 40_000; start += 4_000) {
            String s = wiki.substring(start, start + 1_500);
            assertArrayEquals(ref.encode(s), t.encodePlain(s), "text at " + start);
        }
    }

    @Test
    void malformedFilesAreRejected() throws IOException {
        Path f = tmp.resolve("tok.bin");
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putInt(4).putFloat(0f).putInt(9);
        Files.write(f, b.array());
        var e = assertThrows(ModelFormatException.class, () -> Llama2cTokenizer.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("length 9"), e.getMessage());
        Files.write(f, Arrays.copyOf(Files.readAllBytes(TestData.require(TOK)), 3000));
        e = assertThrows(ModelFormatException.class, () -> Llama2cTokenizer.read(f));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    /** llama2.c's encode transcribed literally: rescan all pairs, merge the best, repeat. */
    private static final class Reference {
        final List<String> vocab = new ArrayList<>();
        final List<Float> scores = new ArrayList<>();
        final java.util.Map<String, Integer> index = new java.util.HashMap<>();

        Reference(Path file) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            buf.getInt();
            while (buf.hasRemaining()) {
                scores.add(buf.getFloat());
                byte[] piece = new byte[buf.getInt()];
                buf.get(piece);
                vocab.add(new String(piece, StandardCharsets.ISO_8859_1));
                index.putIfAbsent(vocab.getLast(), vocab.size() - 1);
            }
        }

        int lookup(String piece) { return index.getOrDefault(piece, -1); }

        int[] encode(String text) {
            List<Integer> tokens = new ArrayList<>();
            tokens.add(lookup(" "));
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < utf8.length; ) {
                int len = 1;
                while (i + len < utf8.length && (utf8[i + len] & 0xC0) == 0x80 && len < 4) len++;
                String ch = new String(utf8, i, len, StandardCharsets.ISO_8859_1);
                int id = lookup(ch);
                if (id >= 0) tokens.add(id);
                else for (int j = 0; j < len; j++) tokens.add((utf8[i + j] & 0xff) + 3);
                i += len;
            }
            while (true) {
                float best = -1e10f;
                int bestId = -1, bestIdx = -1;
                for (int i = 0; i + 1 < tokens.size(); i++) {
                    int id = lookup(vocab.get(tokens.get(i)) + vocab.get(tokens.get(i + 1)));
                    if (id != -1 && scores.get(id) > best) { best = scores.get(id); bestId = id; bestIdx = i; }
                }
                if (bestIdx == -1) break;
                tokens.set(bestIdx, bestId);
                tokens.remove(bestIdx + 1);
            }
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }
}
