package cptquant.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.io.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An OPT-style tokenizer directory (vocab.json + merges.txt, no tokenizer.json) with a hand-made vocabulary. */
class Gpt2BpeFilesTest {
    @TempDir Path dir;

    // Byte-level symbols: "Ġ" is the space byte, "Ã" and "©" are the UTF-8 bytes C3 A9 of "é".
    private static final String VOCAB = """
            {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "H": 4, "e": 5, "l": 6, "o": 7, "Ġ": 8, "w": 9, "r": 10,
             "d": 11, "He": 12, "ll": 13, "Hell": 14, "Hello": 15, "Ġw": 16, "or": 17, "Ġwor": 18, "Ġworl": 19,
             "Ġworld": 20, "Ã": 21, "©": 22, "Ã©": 23}
            """;
    private static final String MERGES = "#version: 0.2\nH e\nl l\nHe ll\nHell o\nĠ w\no r\nĠw or\nĠwor l\nĠworl d\nÃ ©\n";

    @BeforeEach
    void write() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), VOCAB);
        Files.writeString(dir.resolve("merges.txt"), MERGES);
    }

    @Test
    void encodesAsGpt2BytePairMergesDefineWithOptsBos() {
        HfTokenizer t = HfTokenizer.loadDirectory(dir);
        assertEquals(24, t.vocabSize());
        assertArrayEquals(new int[] {15, 20}, t.encodePlain("Hello world"));
        assertArrayEquals(new int[] {2, 15, 20}, t.encode("Hello world", 100));
        assertArrayEquals(new int[] {2, 15}, t.encode("Hello world", 2), "truncation keeps the text's start");
        // No prefix space: a leading word is not merged with "Ġ"; "w or" is no rule, so "world" stays split.
        assertArrayEquals(new int[] {9, 17, 6, 11}, t.encodePlain("world"));
        assertArrayEquals(new int[] {15, 8, 23}, t.encodePlain("Hello é"));
        assertArrayEquals(new int[] {15, 2}, t.encodePlain("Hello</s>"), "special tokens are never split");
    }

    @Test
    void decodesBackToTheTextWithoutSpecialTokens() {
        HfTokenizer t = HfTokenizer.loadDirectory(dir);
        for (String text : new String[] {"Hello world", "Hello é", "world Hello"}) {
            assertEquals(text, t.decode(t.encode(text, 100)));
            assertEquals(text, t.decode(t.encodePlain(text)));
        }
    }

    @Test
    void bosComesFromTokenizerConfigWhenGiven() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": {\"content\": \"<s>\", \"lstrip\": false}}");
        assertArrayEquals(new int[] {0, 15}, HfTokenizer.loadDirectory(dir).encode("Hello", 10));
    }

    @Test
    void tokenizerJsonWinsWhenPresent() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{not json");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> HfTokenizer.loadDirectory(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("tokenizer.json").toString()), e.getMessage());
    }

    @Test
    void badOrMissingFilesNameTheFile() throws IOException {
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nH e\nl l l\n");
        ModelFormatException bad = assertThrows(ModelFormatException.class, () -> HfTokenizer.loadDirectory(dir));
        assertEquals(dir.resolve("merges.txt") + ": merge rule 2 \"l l l\" is not two tokens separated by one space", bad.getMessage());

        Files.writeString(dir.resolve("vocab.json"), "[1, 2]");
        ModelFormatException vocab = assertThrows(ModelFormatException.class, () -> HfTokenizer.loadDirectory(dir));
        assertTrue(vocab.getMessage().startsWith(dir.resolve("vocab.json").toString()), vocab.getMessage());

        Files.delete(dir.resolve("merges.txt"));
        ModelFormatException none = assertThrows(ModelFormatException.class, () -> HfTokenizer.loadDirectory(dir));
        assertTrue(none.getMessage().startsWith(dir + ": no tokenizer.json, nor vocab.json + merges.txt"), none.getMessage());
    }
}
