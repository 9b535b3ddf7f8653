package cptquant.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import cptquant.quant.GgmlType;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads a cptquant GGUF file with an independent parser, the npm package @huggingface/gguf (pinned in
 * tools/gguf-check), so a misunderstanding of the format shared by our writer and reader cannot pass.
 */
class GgufNpmCheckTest {
    private static final Path TOOL = Path.of("tools/gguf-check");
    @TempDir Path dir;

    private record Expected(String name, GgmlType type, long[] ne) {}

    @Test
    void huggingFaceGgufReadsOurLlamaFileWithTheSameNamesTypesAndShapes() throws Exception {
        Path node = onPath("node").orElse(null);
        assumeTrue(node != null, "skipped: node is not on PATH (needed to run tools/gguf-check with @huggingface/gguf)");
        if (!Files.isDirectory(TOOL.resolve("node_modules/@huggingface/gguf"))) {
            Path npm = onPath("npm").orElseThrow(() -> new AssertionError("node is on PATH but npm is not; cannot install tools/gguf-check"));
            run(List.of(npm.toString(), "ci", "--prefix", TOOL.toString()), 300);
        }

        int dim = 64, hidden = 96, vocab = 40;
        List<Expected> expected = List.of(
                new Expected("token_embd.weight", GgmlType.Q8_0, new long[] {dim, vocab}),
                new Expected("blk.0.attn_norm.weight", GgmlType.F32, new long[] {dim}),
                new Expected("blk.0.attn_q.weight", GgmlType.Q4_0, new long[] {dim, dim}),
                new Expected("blk.0.attn_k.weight", GgmlType.Q4_1, new long[] {dim, dim}),
                new Expected("blk.0.attn_v.weight", GgmlType.Q8_0, new long[] {dim, dim}),
                new Expected("blk.0.attn_output.weight", GgmlType.F16, new long[] {dim, dim}),
                new Expected("blk.0.ffn_norm.weight", GgmlType.F32, new long[] {dim}),
                new Expected("blk.0.ffn_gate.weight", GgmlType.Q4_0, new long[] {dim, hidden}),
                new Expected("blk.0.ffn_down.weight", GgmlType.Q4_1, new long[] {hidden, dim}),
                new Expected("blk.0.ffn_up.weight", GgmlType.Q8_0, new long[] {dim, hidden}),
                new Expected("output_norm.weight", GgmlType.F32, new long[] {dim}),
                new Expected("output.weight", GgmlType.F16, new long[] {dim, vocab}));

        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        IntStream.range(3, vocab).forEach(i -> tokens.add("▁t" + i));
        float[] scores = new float[vocab];
        int[] tokenTypes = new int[vocab];
        for (int i = 0; i < vocab; i++) {
            scores[i] = i < 3 ? 0 : -i;
            tokenTypes[i] = i == 0 ? 2 : i < 3 ? 3 : 1; // unknown, control, normal
        }
        GgufWriter w = new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("general.name", GgufValue.string("cptquant test"))
                .put("llama.context_length", GgufValue.uint32(256))
                .put("llama.embedding_length", GgufValue.uint32(dim))
                .put("llama.block_count", GgufValue.uint32(1))
                .put("llama.feed_forward_length", GgufValue.uint32(hidden))
                .put("llama.rope.dimension_count", GgufValue.uint32(dim / 4))
                .put("llama.attention.head_count", GgufValue.uint32(4))
                .put("llama.attention.head_count_kv", GgufValue.uint32(4))
                .put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32(1e-5f))
                .put("tokenizer.ggml.model", GgufValue.string("llama"))
                .put("tokenizer.ggml.tokens", GgufValue.strings(tokens))
                .put("tokenizer.ggml.scores", GgufValue.float32s(scores))
                .put("tokenizer.ggml.token_type", GgufValue.int32s(tokenTypes))
                .put("tokenizer.ggml.bos_token_id", GgufValue.uint32(1))
                .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(2))
                .put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(0));
        for (int i = 0; i < expected.size(); i++) {
            Expected e = expected.get(i);
            long n = Arrays.stream(e.ne()).reduce(1, (a, b) -> a * b);
            w.addTensor(e.name(), e.type(), e.ne(), GgufWriterTest.gaussian((int) n, i));
        }
        Path file = dir.resolve("tiny-llama.gguf");
        w.write(file);

        JsonNode seen = new ObjectMapper().readTree(run(List.of(node.toString(), TOOL.resolve("check.mjs").toString(), file.toString()), 60));
        GgufFile ours = GgufReader.read(file);

        JsonNode meta = seen.get("metadata");
        assertEquals(3, meta.get("version").get("value").asInt());
        assertEquals(expected.size(), meta.get("tensor_count").get("value").asInt());
        assertEquals("llama", meta.get("general.architecture").get("value").asText());
        assertEquals("UINT32", meta.get("llama.block_count").get("type").asText());
        assertEquals(hidden, meta.get("llama.feed_forward_length").get("value").asInt());
        assertEquals(1e-5f, (float) meta.get("llama.attention.layer_norm_rms_epsilon").get("value").asDouble());
        assertEquals("FLOAT32", meta.get("llama.attention.layer_norm_rms_epsilon").get("type").asText());
        assertArray(meta.get("tokenizer.ggml.tokens"), "STRING", vocab, "<unk>");
        assertArray(meta.get("tokenizer.ggml.scores"), "FLOAT32", vocab, "0");
        assertArray(meta.get("tokenizer.ggml.token_type"), "INT32", vocab, "2");
        assertEquals(2, meta.get("tokenizer.ggml.eos_token_id").get("value").asInt());

        JsonNode infos = seen.get("tensorInfos");
        assertEquals(expected.size(), infos.size());
        for (int i = 0; i < expected.size(); i++) {
            Expected e = expected.get(i);
            JsonNode t = infos.get(i);
            assertEquals(e.name(), t.get("name").asText());
            assertEquals(e.type().name(), t.get("dtype").asText(), e.name());
            long[] shape = new long[t.get("shape").size()];
            for (int d = 0; d < shape.length; d++) shape[d] = t.get("shape").get(d).asLong();
            assertEquals(Arrays.toString(e.ne()), Arrays.toString(shape), e.name());
            assertEquals(ours.tensors().get(i).offset(), t.get("offset").asLong(), e.name());
        }
        assertEquals(ours.dataOffset(), seen.get("tensorDataOffset").asLong());
        GgufTensorInfo last = ours.tensors().getLast();
        long end = ours.dataOffset() + last.offset() + last.type().orElseThrow().bytes(last.count());
        assertTrue(seen.get("fileSize").asLong() >= end && seen.get("fileSize").asLong() - end < 32,
                "file ends with the last tensor's data plus padding");
    }

    private static void assertArray(JsonNode summary, String subType, int length, String first) {
        assertEquals("ARRAY", summary.get("type").asText());
        assertEquals(subType, summary.get("subType").asText());
        assertEquals(length, summary.get("length").asInt());
        assertEquals(first, summary.get("first").asText());
    }

    /** Runs a command from the project root; its stdout, or a failure carrying its stderr. */
    private String run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Path err = dir.resolve("stderr.txt");
        Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " did not finish in " + timeoutSeconds + " s");
        }
        if (p.exitValue() != 0) {
            throw new AssertionError(command + " exited " + p.exitValue() + ":\n" + Files.readString(err));
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    private static Optional<Path> onPath(String program) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(d -> !d.isEmpty())
                .map(d -> Path.of(d, program))
                .filter(Files::isExecutable)
                .findFirst();
    }
}
