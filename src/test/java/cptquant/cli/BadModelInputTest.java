package cptquant.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Damaged model inputs reach the user as one line naming the file and the problem, with exit code 2. */
class BadModelInputTest {
    @TempDir Path dir;

    private static String failOneLine(String... args) {
        CliRun r = CliRun.of(args);
        assertEquals(2, r.code(), r.err());
        String text = r.err().strip();
        assertEquals(1, text.lines().count(), text);
        return text;
    }

    private Path optDir(String config) throws Exception {
        Path d = Files.createDirectories(dir.resolve("m"));
        Files.writeString(d.resolve("config.json"), config);
        return d;
    }

    @Test
    void unsupportedArchitecture() throws Exception {
        Path d = optDir("{\"model_type\": \"gpt2\"}");
        String e = failOneLine("sensitivity", "--model", d.toString(), "--task", "wikitext2", "--method", "cmpq");
        assertTrue(e.contains("config.json") && e.contains("unsupported model_type \"gpt2\""), e);
    }

    @Test
    void unreadableConfig() throws Exception {
        Path d = optDir("{not json");
        String e = failOneLine("eval", "--model", d.toString(), "--task", "wikitext2");
        assertTrue(e.contains("config.json"), e);
    }

    @Test
    void headerLengthPastTheEndOfTheWeights() throws Exception {
        Path d = optDir("{\"model_type\": \"opt\", \"hidden_size\": 8, \"num_attention_heads\": 2, \"num_hidden_layers\": 1,"
                + " \"ffn_dim\": 16, \"vocab_size\": 10, \"max_position_embeddings\": 8, \"word_embed_proj_dim\": 8}");
        byte[] bytes = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1_000_000).array();
        Files.write(d.resolve("model.safetensors"), bytes);
        String e = failOneLine("quantize", "--model", d.toString(), "--bits", "8", "--out", dir.resolve("q").toString());
        assertTrue(e.contains("model.safetensors"), e);
        assertTrue(Files.notExists(dir.resolve("q")), "no output for a failed run");
    }

    @Test
    void truncatedLlama2cCheckpoint() throws Exception {
        Path bin = dir.resolve("tiny.bin");
        ByteBuffer b = ByteBuffer.allocate(7 * 4 + 40).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : new int[] {8, 16, 1, 2, 2, 10, 8}) b.putInt(v);
        Files.write(bin, b.array());
        String e = failOneLine("eval", "--model", bin.toString(), "--task", "wikitext2");
        assertTrue(e.contains("tiny.bin"), e);
    }
}
