package cptquant.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

class GenerateCommandTest {

    private static String stories() {
        return TestData.require("models/stories260K/stories260K.bin").toString();
    }

    @Test
    void greedyOutputStartsWithTheReferenceStory() throws IOException {
        CliRun r = CliRun.of("generate", "--model", stories(), "--prompt", "Once upon a time", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        // REFERENCE.md wraps its text over lines; the model emits one newline, so compare with spaces.
        assertTrue(r.out().replace('\n', ' ').startsWith(referenceText().replace('\n', ' ')), r.out());
        assertTrue(r.err().matches("(?s)5 prompt tokens, \\d+ generated, [0-9.]+ tokens/s .*"), r.err());
    }

    @Test
    void maxTokensBoundsTheGeneratedCount() {
        CliRun r = CliRun.of("generate", "--model", stories(), "--prompt", "Once upon a time", "--max-tokens", "3",
                "--temperature", "0.8", "--seed", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Once upon a time"), r.out());
        assertTrue(r.err().startsWith("5 prompt tokens, 3 generated"), r.err());
    }

    @Test
    void badInputIsOneLineAndExitTwo() {
        String m = stories();
        assertOneLineError(CliRun.of("generate", "--model", "minilm", "--prompt", "hi"), "is an encoder");
        assertOneLineError(CliRun.of("generate", "--model", m, "--prompt", "Once upon a time ".repeat(200)), "longer than the model's");
        assertOneLineError(CliRun.of("generate", "--model", m, "--prompt", "x", "--max-tokens", "0"), "--max-tokens");
        assertOneLineError(CliRun.of("generate", "--model", m, "--prompt", "x", "--top-p", "1.5"), "--top-p");
        assertOneLineError(CliRun.of("generate", "--model", m, "--prompt", "x", "--temperature", "-1"), "temperature");
        assertOneLineError(CliRun.of("generate", "--model", m, "--prompt", "x", "--threads", "0"), "--threads");
        assertOneLineError(CliRun.of("generate", "--model", "/no/such/model", "--prompt", "x"), "/no/such/model");
        assertEquals(2, CliRun.of("generate", "--model", m, "--prompt", "x", "--max-tokens", "many").code());
    }

    private static void assertOneLineError(CliRun r, String fragment) {
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("cptquant: ") && r.err().contains(fragment), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    /** The indented block of REFERENCE.md, its lines joined by newlines. */
    private static String referenceText() throws IOException {
        List<String> lines = Files.readAllLines(TestData.require("models/stories260K/REFERENCE.md"));
        return String.join("\n", lines.stream().filter(l -> l.startsWith("    ")).map(l -> l.substring(4)).toList());
    }
}
