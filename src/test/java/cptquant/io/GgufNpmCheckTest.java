package cptquant.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import cptquant.quant.GgmlType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads a cptquant GGUF file with an independent parser, the npm package @huggingface/gguf (pinned in
 * tools/gguf-check), so a misunderstanding of the format shared by our writer and reader cannot pass.
 */
class GgufNpmCheckTest {
    @TempDir Path dir;

    private record Expected(String name, GgmlType type, long[] ne) {}

    @Test
    void huggingFaceGgufReadsOurLlamaFileWithTheSameNamesTypesAndShapes() throws Exception {
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

        JsonNode seen = GgufNpmCheck.read(file, dir);
        GgufFile ours = GgufReader.read(file);

        JsonNode meta = seen.get("metadata");
        assertEquals(3, meta.get("version").get("value").asInt());
        assertEquals(expected.size(), meta.get("tensor_count").get("value").asInt());
        assertEquals("llama", meta.get("general.architecture").get("value").asText());
        assertEquals("UINT32", meta.get("llama.block_count").get("type").asText());
        assertEquals(hidden, meta.get("llama.feed_forward_length").get("value").asInt());
        assertEquals(1e-5f, (float) meta.get("llama.attention.layer_norm_rms_epsilon").get("value").asDouble());
        assertEquals("FLOAT32", meta.get("llama.attention.layer_norm_rms_epsilon").get("type").asText());
        GgufNpmCheck.assertArray(meta.get("tokenizer.ggml.tokens"), "STRING", vocab, "<unk>");
        GgufNpmCheck.assertArray(meta.get("tokenizer.ggml.scores"), "FLOAT32", vocab, "0");
        GgufNpmCheck.assertArray(meta.get("tokenizer.ggml.token_type"), "INT32", vocab, "2");
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
}
