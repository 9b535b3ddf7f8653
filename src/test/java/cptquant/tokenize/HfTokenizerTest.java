package cptquant.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.io.ModelFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerTest {
    private static final HfTokenizer TOK = HfTokenizer.minilm();

    @Test
    void wrapsTextInClsAndSepWithUncasedWordPieces() {
        int[] ids = TOK.encode("Hello, World!", 128);
        // bert-base-uncased: hello=7592 ","=1010 world=2088 "!"=999
        assertArrayEquals(new int[] {101, 7592, 1010, 2088, 999, 102}, ids);
        assertEquals("hello, world!", TOK.decode(ids));
        assertArrayEquals(new int[] {7592, 1010, 2088, 999}, TOK.encodePlain("Hello, World!"));
        assertEquals(30522, TOK.vocabSize());
    }

    @Test
    void truncationKeepsTheClosingSep() {
        String text = "word ".repeat(300);
        int[] full = TOK.encode(text, 1000);
        assertEquals(302, full.length, "the file's own 128-token truncation must be off");
        int[] cut = TOK.encode(text, 16);
        assertEquals(16, cut.length);
        assertEquals(101, cut[0]);
        assertEquals(102, cut[15]);
        for (int i = 1; i < 15; i++) assertEquals(full[i], cut[i]);
        assertEquals(300, TOK.encodePlain(text).length);
        assertEquals(3, TOK.encode("short", 128).length, "no padding to the file's fixed 128");
    }

    @Test
    void rejectsFilesThatAreNotTokenizers(@TempDir Path dir) throws Exception {
        Path garbage = Files.writeString(dir.resolve("tokenizer.json"), "not json at all {");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> HfTokenizer.load(garbage));
        assertTrue(e.getMessage().startsWith(garbage.toString()), e.getMessage());
        Path empty = Files.writeString(dir.resolve("empty.json"), "{}");
        assertThrows(ModelFormatException.class, () -> HfTokenizer.load(empty));
    }
}
