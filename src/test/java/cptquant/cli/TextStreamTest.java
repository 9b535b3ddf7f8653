package cptquant.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.TestData;
import cptquant.tokenize.Llama2cTokenizer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextStreamTest {

    @Test
    void charactersSplitOverByteTokensArePrintedWhole() {
        Llama2cTokenizer tok = Llama2cTokenizer.read(TestData.require("models/stories260K/tok512.bin"));
        // tok512 has no piece for these characters, so each is spelled as <0xXX> byte tokens.
        String text = "Hi é → 😀 ok";
        int[] ids = tok.encode(text, 100);
        TextStream stream = new TextStream(tok, new int[] {ids[0]});
        List<String> pieces = new ArrayList<>();
        for (int i = 1; i < ids.length; i++) pieces.add(stream.add(ids[i]));
        pieces.add(stream.flush());

        assertEquals(text, String.join("", pieces));
        assertTrue(pieces.stream().noneMatch(p -> p.indexOf('\uFFFD') >= 0), pieces.toString());
        assertTrue(pieces.stream().anyMatch(String::isEmpty), "a partial character is held back: " + pieces);
    }
}
