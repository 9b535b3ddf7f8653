package cptquant.io;

import cptquant.cli.CliRun;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import cptquant.TestData;
import cptquant.cli.Main;
import cptquant.model.Block;
import cptquant.model.BlockObserver;
import cptquant.model.CausalLM;
import cptquant.model.LoadedModel;
import cptquant.model.Models;
import cptquant.model.TransformerModel;
import cptquant.quant.GgmlType;
import cptquant.tensor.Linear;
import cptquant.tokenize.HfTokenizer;
import cptquant.tokenize.Llama2cTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cptquant export --format gguf} on real models: the file read back by our reader and by the
 * independent @huggingface/gguf parser has llama.cpp's names, the planned types, ggml shapes, the
 * architecture and tokenizer metadata, and values that are the model's weights re-quantized.
 */
class GgufModelsTest {
    private static final String STORIES = "models/stories260K/stories260K.bin";
    /** cptquant module suffix → llama.cpp tensor of a Llama block (written out independently of GgufLlama). */
    private static final Map<String, String> LLAMA_LINEARS = Map.of(
            "attention.wq", "attn_q", "attention.wk", "attn_k", "attention.wv", "attn_v", "attention.wo", "attn_output",
            "feed_forward.w1", "ffn_gate", "feed_forward.w2", "ffn_down", "feed_forward.w3", "ffn_up");
    private static final Map<String, String> BERT_LINEARS = Map.of(
            "attention.query", "attn_q", "attention.key", "attn_k", "attention.value", "attn_v",
            "attention.output", "attn_output", "intermediate", "ffn_up", "output", "ffn_down");

    @TempDir Path dir;

    private Path plan(String json) throws Exception {
        Path p = dir.resolve("plan-" + json.hashCode() + ".json");
        Files.writeString(p, json);
        return p;
    }

    @Test
    void storiesWithAMixedPlanHasPlannedTypesLlamaMetadataAndRequantizedWeights() throws Exception {
        Path bin = TestData.require(STORIES);
        Path plan = plan("""
                {"units": {"layers.0": {"bits": 4, "group_size": 32}, "layers.1": {"bits": 8},
                           "layers.2.attention.wq": {"bits": 4}, "tok_embeddings": {"bits": 8}}}""");
        Path out = dir.resolve("stories.gguf");
        CliRun r = CliRun.of("export", "--format", "gguf", "--model", bin.toString(), "--out", out.toString(), "--plan", plan.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("wrote " + out + ": 47 tensors"), r.out());

        LoadedModel loaded = Models.load(bin.toString());
        Map<String, GgmlType> want = new LinkedHashMap<>();
        want.put("token_embd.weight", GgmlType.Q8_0);
        for (int i = 0; i < 5; i++) {
            want.put("blk." + i + ".attn_norm.weight", GgmlType.F32);
            want.put("blk." + i + ".ffn_norm.weight", GgmlType.F32);
            GgmlType block = i == 0 ? GgmlType.Q4_1 : i == 1 ? GgmlType.Q8_0 : GgmlType.F16;
            for (String t : LLAMA_LINEARS.values()) want.put("blk." + i + "." + t + ".weight", block);
            // ffn_down's rows are hidden_dim = 172 values, not whole 32-blocks: F16 whatever the plan
            want.put("blk." + i + ".ffn_down.weight", GgmlType.F16);
        }
        want.put("blk.2.attn_q.weight", GgmlType.Q4_1);
        want.put("output_norm.weight", GgmlType.F32);
        GgufFile g = checkAgainstModel(out, loaded, LLAMA_LINEARS, want, Map.of(
                "tok_embeddings", "token_embd.weight", "norm", "output_norm.weight"));
        assertTrue(g.tensor("output.weight").isEmpty(), "stories260K ties its classifier to the embedding");
        assertArrayEquals(new long[] {64, 32}, g.tensor("blk.0.attn_k.weight").orElseThrow().ne(), "4 kv heads of 8");

        Map<String, GgufValue> m = g.metadata();
        assertEquals(GgufValue.string("llama"), m.get("general.architecture"));
        assertEquals(GgufValue.uint32(512), m.get("llama.context_length"));
        assertEquals(GgufValue.uint32(64), m.get("llama.embedding_length"));
        assertEquals(GgufValue.uint32(5), m.get("llama.block_count"));
        assertEquals(GgufValue.uint32(172), m.get("llama.feed_forward_length"));
        assertEquals(GgufValue.uint32(8), m.get("llama.rope.dimension_count"));
        assertEquals(GgufValue.uint32(8), m.get("llama.attention.head_count"));
        assertEquals(GgufValue.uint32(4), m.get("llama.attention.head_count_kv"));
        assertEquals(GgufValue.float32(1e-5f), m.get("llama.attention.layer_norm_rms_epsilon"));
        assertEquals(GgufValue.uint32(2), m.get("general.quantization_version"));
        assertEquals(GgufValue.string("llama"), m.get("tokenizer.ggml.model"));
        assertEquals(GgufValue.uint32(1), m.get("tokenizer.ggml.bos_token_id"));
        assertEquals(GgufValue.uint32(2), m.get("tokenizer.ggml.eos_token_id"));
        assertEquals(GgufValue.uint32(0), m.get("tokenizer.ggml.unknown_token_id"));

        Llama2cTokenizer tok = (Llama2cTokenizer) loaded.tokenizer();
        List<GgufValue> tokens = elements(m, "tokenizer.ggml.tokens"), types = elements(m, "tokenizer.ggml.token_type");
        assertEquals(512, tokens.size());
        assertEquals(512, elements(m, "tokenizer.ggml.scores").size());
        assertEquals(GgufValue.float32(tok.score(300)), elements(m, "tokenizer.ggml.scores").get(300));
        assertEquals(List.of(GgufValue.int32(2), GgufValue.int32(3), GgufValue.int32(3)), types.subList(0, 3));
        int[] han = tok.encodePlain("\u4e2d"); // not a piece of this 512-token vocabulary: bytes E4 B8 AD
        assertEquals(GgufValue.string("\u2581"), tokens.get(han[0]), "llama2.c's dummy leading space, spelt as sentencepiece does");
        int byteId = han[han.length - 1];
        assertEquals(GgufValue.string("<0xAD>"), tokens.get(byteId));
        assertEquals(GgufValue.int32(6), types.get(byteId));
        int word = tok.encodePlain("Once")[0];
        assertEquals(GgufValue.string(tok.piece(word).replace(' ', '\u2581')), tokens.get(word));
        assertTrue(((GgufValue.StringValue) tokens.get(word)).value().startsWith("\u2581"), "words carry sentencepiece's space");
        assertEquals(GgufValue.int32(1), types.get(word));

        JsonNode seen = NodeCheck.GGUF.run(dir, out.toString());
        assertSameAsNpm(seen, g);
        JsonNode meta = seen.get("metadata");
        assertEquals("UINT32", meta.get("llama.attention.head_count_kv").get("type").asText());
        NodeCheck.assertArray(meta.get("tokenizer.ggml.tokens"), "STRING", 512, tok.piece(0));
        NodeCheck.assertArray(meta.get("tokenizer.ggml.scores"), "FLOAT32", 512, "0");
        NodeCheck.assertArray(meta.get("tokenizer.ggml.token_type"), "INT32", 512, "2");
    }

    @Test
    void storiesWithoutAPlanIsF16WithF32Norms() throws Exception {
        Path bin = TestData.require(STORIES);
        Path out = dir.resolve("stories-f16.gguf");
        assertEquals(0, CliRun.of("export", "--format", "gguf", "--model", bin.toString(), "--out", out.toString()).code());
        Map<String, GgmlType> want = new LinkedHashMap<>();
        want.put("token_embd.weight", GgmlType.F16);
        for (int i = 0; i < 5; i++) {
            for (String t : LLAMA_LINEARS.values()) want.put("blk." + i + "." + t + ".weight", GgmlType.F16);
            want.put("blk." + i + ".attn_norm.weight", GgmlType.F32);
            want.put("blk." + i + ".ffn_norm.weight", GgmlType.F32);
        }
        want.put("output_norm.weight", GgmlType.F32);
        GgufFile g = checkAgainstModel(out, Models.load(bin.toString()), LLAMA_LINEARS, want, Map.of());
        assertFalse(g.metadata().containsKey("general.quantization_version"), "nothing is block-quantized");
        assertSameAsNpm(NodeCheck.GGUF.run(dir, out.toString()), g);
    }

    @Test
    void aSavedQuantizedCheckpointKeepsItsStoredWidthsWithoutAPlan() throws Exception {
        Path bin = TestData.require(STORIES);
        Path saved = dir.resolve("stories-w8");
        assertEquals(0, CliRun.of("quantize", "--model", bin.toString(), "--bits", "8", "--head-bits", "8",
                "--out", saved.toString()).code());
        Path out = dir.resolve("stories-w8.gguf");
        assertEquals(0, CliRun.of("export", "--format", "gguf", "--model", saved.toString(), "--out", out.toString()).code());
        Map<String, GgmlType> want = new LinkedHashMap<>();
        want.put("token_embd.weight", GgmlType.Q8_0); // the tied head was saved packed at 8 bits
        for (int i = 0; i < 5; i++) {
            for (var e : LLAMA_LINEARS.entrySet()) {
                // w2's rows are 172 wide, not whole 32-value blocks: F16, as any plan would give it
                want.put("blk." + i + "." + e.getValue() + ".weight", e.getKey().equals("feed_forward.w2") ? GgmlType.F16 : GgmlType.Q8_0);
            }
            want.put("blk." + i + ".attn_norm.weight", GgmlType.F32);
            want.put("blk." + i + ".ffn_norm.weight", GgmlType.F32);
        }
        want.put("output_norm.weight", GgmlType.F32);
        checkAgainstModel(out, Models.load(saved.toString()), LLAMA_LINEARS, want, Map.of("tok_embeddings", "token_embd.weight"));
    }

    @Test
    void miniLmHasBertNamesShapesTypesAndWordPieceVocabulary() throws Exception {
        Path plan = plan("""
                {"units": {"layers.0": {"bits": 4}, "layers.5.output": {"bits": 8}}}""");
        Path out = dir.resolve("minilm.gguf");
        CliRun r = CliRun.of("export", "--format", "gguf", "--model", "minilm", "--out", out.toString(), "--plan", plan.toString());
        assertEquals(0, r.code(), r.err());

        LoadedModel loaded = Models.load("minilm");
        Map<String, GgmlType> want = new LinkedHashMap<>();
        for (String e : List.of("token_embd", "position_embd")) want.put(e + ".weight", GgmlType.F16);
        want.put("token_types.weight", GgmlType.F32); // llama.cpp adds its row to F32 activations directly
        for (String n : List.of("token_embd_norm.weight", "token_embd_norm.bias")) want.put(n, GgmlType.F32);
        for (int i = 0; i < 6; i++) {
            for (String t : BERT_LINEARS.values()) {
                want.put("blk." + i + "." + t + ".weight", i == 0 ? GgmlType.Q4_1 : GgmlType.F16);
                want.put("blk." + i + "." + t + ".bias", GgmlType.F32);
            }
            for (String n : List.of("attn_output_norm", "layer_output_norm")) {
                want.put("blk." + i + "." + n + ".weight", GgmlType.F32);
                want.put("blk." + i + "." + n + ".bias", GgmlType.F32);
            }
        }
        want.put("blk.5.ffn_down.weight", GgmlType.Q8_0);
        Map<String, String> others = new HashMap<>(Map.of(
                "embeddings.word_embeddings.weight", "token_embd.weight",
                "embeddings.position_embeddings.weight", "position_embd.weight",
                "embeddings.token_type_embeddings.weight", "token_types.weight",
                "encoder.layer.2.output.LayerNorm.weight", "blk.2.layer_output_norm.weight"));
        GgufFile g = checkAgainstModel(out, loaded, BERT_LINEARS, want, others);
        assertArrayEquals(new long[] {384, 30522}, g.tensor("token_embd.weight").orElseThrow().ne());
        assertArrayEquals(new long[] {384, 512}, g.tensor("position_embd.weight").orElseThrow().ne());
        assertArrayEquals(new long[] {384, 1536}, g.tensor("blk.0.ffn_up.weight").orElseThrow().ne());
        assertArrayEquals(new long[] {1536, 384}, g.tensor("blk.0.ffn_down.weight").orElseThrow().ne());

        Map<String, GgufValue> m = g.metadata();
        assertEquals(GgufValue.string("bert"), m.get("general.architecture"));
        assertEquals(GgufValue.uint32(512), m.get("bert.context_length"));
        assertEquals(GgufValue.uint32(384), m.get("bert.embedding_length"));
        assertEquals(GgufValue.uint32(1536), m.get("bert.feed_forward_length"));
        assertEquals(GgufValue.uint32(6), m.get("bert.block_count"));
        assertEquals(GgufValue.uint32(12), m.get("bert.attention.head_count"));
        assertEquals(GgufValue.float32(1e-12f), m.get("bert.attention.layer_norm_epsilon"));
        assertEquals(GgufValue.bool(false), m.get("bert.attention.causal"));
        assertEquals(GgufValue.uint32(1), m.get("bert.pooling_type"));
        assertEquals(GgufValue.uint32(2), m.get("tokenizer.ggml.token_type_count"));
        assertEquals(GgufValue.string("bert"), m.get("tokenizer.ggml.model"));
        assertEquals(GgufValue.uint32(101), m.get("tokenizer.ggml.bos_token_id"));
        assertEquals(GgufValue.uint32(102), m.get("tokenizer.ggml.eos_token_id"));
        assertEquals(GgufValue.uint32(102), m.get("tokenizer.ggml.seperator_token_id"));
        assertEquals(GgufValue.uint32(0), m.get("tokenizer.ggml.padding_token_id"));
        assertEquals(GgufValue.uint32(100), m.get("tokenizer.ggml.unknown_token_id"));
        assertEquals(GgufValue.uint32(103), m.get("tokenizer.ggml.mask_token_id"));
        List<GgufValue> tokens = elements(m, "tokenizer.ggml.tokens"), types = elements(m, "tokenizer.ggml.token_type");
        assertEquals(30522, tokens.size());
        assertEquals(30522, types.size());
        HfTokenizer tok = (HfTokenizer) loaded.tokenizer();
        int the = tok.encodePlain("the")[0], ing = tok.tokens().indexOf("##ing");
        assertEquals(GgufValue.string("\u2581the"), tokens.get(the));
        assertEquals(GgufValue.string("[CLS]"), tokens.get(101));
        assertEquals(GgufValue.int32(3), types.get(101));
        assertEquals(GgufValue.int32(1), types.get(the));
        assertEquals(GgufValue.string("ing"), tokens.get(ing), "continuations lose their ##");

        JsonNode seen = NodeCheck.GGUF.run(dir, out.toString());
        assertSameAsNpm(seen, g);
        NodeCheck.assertArray(seen.get("metadata").get("tokenizer.ggml.tokens"), "STRING", 30522, "[PAD]");
        assertEquals("BOOL", seen.get("metadata").get("bert.attention.causal").get("type").asText());
    }

    @Test
    void badRequestsAreOneLineAndExitTwo() throws Exception {
        Path bin = TestData.require(STORIES);
        Path out = dir.resolve("x.gguf");
        CliRun format = CliRun.of("export", "--format", "onnx", "--model", bin.toString(), "--out", out.toString());
        assertEquals(2, format.code());
        assertEquals("cptquant: unknown --format 'onnx' (supported: gguf)", format.err().strip());

        Path plan = plan("""
                {"units": {"layers.9": {"bits": 4}, "layers.0": {"bits": 8}}}""");
        CliRun unknown = CliRun.of("export", "--format", "gguf", "--model", bin.toString(), "--out", out.toString(), "--plan", plan.toString());
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().startsWith("cptquant: plan names units the model does not have: [layers.9]"), unknown.err());
        assertEquals(1, unknown.err().strip().lines().count());
        assertFalse(Files.exists(out), "nothing is written for a bad plan");
    }

    @Test
    void otherFamiliesAreRejectedWithTheSupportedOnes() {
        CausalLM opt = new CausalLM() {
            @Override public String architecture() { return "opt"; }
            @Override public List<Block> blocks() { return List.of(new Block(0, "layers.0", List.of())); }
            @Override public int hiddenSize() { return 8; }
            @Override public Map<String, float[]> otherParameters() { return Map.of(); }
            @Override public int vocabSize() { return 4; }
            @Override public int maxPositions() { return 8; }
            @Override public Linear lmHead() { throw new UnsupportedOperationException(); }
            @Override public String lmHeadTable() { throw new UnsupportedOperationException(); }
            @Override public float[] logits(int[] tokens, BlockObserver observer) { throw new UnsupportedOperationException(); }
        };
        var e = assertThrows(IllegalArgumentException.class,
                () -> GgufModels.of(new LoadedModel.Causal("opt-125m", opt, null), Map.of()));
        assertTrue(e.getMessage().startsWith("GGUF export supports llama and bert"), e.getMessage());
    }

    /**
     * Reads {@code file} and checks it holds exactly the tensors of {@code types}, each the model's own
     * values stored in that type (block linears found through {@code linears}, other parameters through
     * {@code others}), with the PyTorch shape reversed.
     */
    private static GgufFile checkAgainstModel(Path file, LoadedModel loaded, Map<String, String> linears,
                                              Map<String, GgmlType> types, Map<String, String> others) {
        GgufFile g = GgufReader.read(file);
        assertEquals(types.keySet(), g.tensors().stream().map(GgufTensorInfo::name).collect(java.util.stream.Collectors.toSet()));
        for (GgufTensorInfo t : g.tensors()) {
            assertEquals(types.get(t.name()).id(), t.ggmlType(), t.name());
        }
        TransformerModel model = loaded.model();
        for (Block b : model.blocks()) {
            for (Linear l : b.linears()) {
                String suffix = l.name().substring(b.name().length() + 1);
                String name = "blk." + b.index() + "." + linears.get(suffix) + ".weight";
                GgufTensorInfo t = g.tensor(name).orElseThrow(() -> new AssertionError("no " + name));
                assertArrayEquals(new long[] {l.in(), l.out()}, t.ne(), name);
                assertStored(g, t, l.weight().toFloat());
                if (l.bias() != null) {
                    String bias = name.replaceFirst("\\.weight$", ".bias");
                    assertStored(g, g.tensor(bias).orElseThrow(() -> new AssertionError("no " + bias)), l.bias());
                }
            }
        }
        others.forEach((param, name) -> assertStored(g, g.tensor(name).orElseThrow(), model.otherParameters().get(param)));
        return g;
    }

    /** The file holds {@code values} as its type's codec stores them, and that is close to them. */
    private static void assertStored(GgufFile g, GgufTensorInfo t, float[] values) {
        GgmlType type = t.type().orElseThrow();
        float[] back = g.values(t);
        assertArrayEquals(GgufWriterTest.stored(type, values), back, t.name());
        double err = 0, norm = 0;
        for (int i = 0; i < values.length; i++) {
            err += (back[i] - values[i]) * (double) (back[i] - values[i]);
            norm += values[i] * (double) values[i];
        }
        double relative = Math.sqrt(err / norm);
        double allowed = switch (type) {
            case Q4_0, Q4_1 -> 0.15;
            case Q8_0 -> 0.01;
            case F16 -> 1e-3;
            case F32 -> 0;
        };
        assertTrue(relative <= allowed, t.name() + " " + type + " relative error " + relative);
    }

    /** The npm parser sees the same tensors (name, type, ne, offset) as our reader, in the same order. */
    private static void assertSameAsNpm(JsonNode seen, GgufFile g) {
        JsonNode infos = seen.get("tensorInfos");
        assertEquals(g.tensors().size(), infos.size());
        assertEquals(g.dataOffset(), seen.get("tensorDataOffset").asLong());
        for (int i = 0; i < infos.size(); i++) {
            GgufTensorInfo ours = g.tensors().get(i);
            JsonNode t = infos.get(i);
            assertEquals(ours.name(), t.get("name").asText());
            assertEquals(ours.type().orElseThrow().name(), t.get("dtype").asText(), ours.name());
            long[] shape = new long[t.get("shape").size()];
            for (int d = 0; d < shape.length; d++) shape[d] = t.get("shape").get(d).asLong();
            assertArrayEquals(ours.ne(), shape, ours.name());
            assertEquals(ours.offset(), t.get("offset").asLong(), ours.name());
        }
        for (String key : g.metadata().keySet()) assertTrue(seen.get("metadata").has(key), "npm sees " + key);
    }

    private static List<GgufValue> elements(Map<String, GgufValue> metadata, String key) {
        return ((GgufValue.ArrayValue) metadata.get(key)).elements();
    }
}
