package cptquant.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import cptquant.TestData;
import cptquant.allocate.BitPlan;
import cptquant.io.HfCheckpoint;
import cptquant.io.ModelFormatException;
import cptquant.io.QuantizedCheckpoint;
import cptquant.io.Safetensors;
import cptquant.io.SafetensorsWriter;
import cptquant.quant.ModelQuantizer;
import cptquant.quant.QuantSpec;
import cptquant.quant.SizeReport;
import cptquant.tensor.DType;
import cptquant.tensor.Linear;
import cptquant.tensor.PackedWeight;
import cptquant.tokenize.HfTokenizer;
import cptquant.tokenize.Llama2cTokenizer;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntPredicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class QuantizedCheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String Q0 = "model.decoder.layers.0.self_attn.q_proj";
    private static final String FC2_2 = "model.decoder.layers.2.fc2";
    private static final int[] TOKENS = {3, 17, 0, 36, 5, 9, 22};

    @TempDir Path tmp;
    private LoadedModel quantized;
    private Path saved;

    /** A seeded FP16 OPT, quantized with a mixed plan (int4 g32, int8 per-channel sym, FP16, int4 g128) and saved. */
    @BeforeEach
    void saveMixedPlan() throws IOException {
        OptCheckpoints.Spec spec = OptCheckpoints.Spec.small().sized(37, 64, 3, 4, 128, 20).stored(DType.F16);
        Path source = tmp.resolve("source");
        OptCheckpoints.write(source, spec, OptCheckpoints.generate(spec, 11));
        Files.write(source.resolve("tokenizer.json"), HfTokenizer.minilm().json());
        quantized = Models.load(source.toString());
        Map<String, QuantSpec> units = new LinkedHashMap<>();
        units.put("layers.0", new QuantSpec.Int(4, 32, false));
        units.put("layers.1", new QuantSpec.Int(8, 0, true));
        units.put("layers.2", new QuantSpec.Half(DType.F16));
        units.put("layers.2.fc2", new QuantSpec.Int(4, 128, false));
        ModelQuantizer.apply(quantized.model(), units);
        saved = tmp.resolve("saved");
        QuantizedCheckpoint.write(quantized, new BitPlan(units, "test"), saved);
    }

    static float maxAbs(float[] v) {
        float m = 0;
        for (float x : v) m = Math.max(m, Math.abs(x));
        return m;
    }

    private static float[] logits(LoadedModel m) {
        return ((LoadedModel.Causal) m).model().logits(TOKENS);
    }

    @Test
    void loadedModelComputesExactlyWhatTheInMemoryQuantizedModelDoes() {
        LoadedModel loaded = Models.load(saved.toString());
        // Equal up to the kernels' run-to-run rounding (their parallel split varies): 1e-5 relative.
        float[] expected = logits(quantized);
        assertArrayEquals(expected, logits(loaded), 1e-5f * maxAbs(expected));
        Linear q0 = loaded.model().blocks().get(0).linears().get(0);
        PackedWeight p = assertInstanceOf(PackedWeight.class, q0.weight());
        assertEquals("int4-g32", p.format());
        assertEquals("int8-sym", loaded.model().blocks().get(1).linears().get(2).weight().format());
        assertEquals("f16", loaded.model().blocks().get(2).linears().get(0).weight().format());
        assertEquals("int4", loaded.model().blocks().get(2).linears().get(5).weight().format());
        assertTrue(p.codes().isMapped(), "packed codes are views of the mapped file");
        assertTrue(Files.isRegularFile(saved.resolve(QuantizedCheckpoint.PLAN)));
        assertArrayEquals(HfTokenizer.minilm().encode("saved tokenizer", 16), loaded.tokenizer().encode("saved tokenizer", 16));
    }

    @Test
    void fileHoldsExactlyTheSizeReportBytesPlusHeaderAndShapes() throws IOException {
        long packedModules = quantized.model().blocks().stream().flatMap(b -> b.linears().stream())
                .filter(l -> l.weight() instanceof PackedWeight).count();
        assertEquals(13, packedModules);
        assertSizeReportPlusHeader(saved, quantized.model(), packedModules);
    }

    /**
     * model.safetensors holds the header, exactly the bytes SizeReport counts, and the 8-byte shape of
     * each of {@code packedModules} packed modules.
     */
    static void assertSizeReportPlusHeader(Path dir, TransformerModel model, long packedModules) throws IOException {
        Path file = dir.resolve(HfCheckpoint.SINGLE);
        long header;
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b);
            header = b.flip().getLong();
        }
        assertEquals(8 + header + SizeReport.of(model, 2).totalBytes() + 8 * packedModules, Files.size(file));
    }

    @ParameterizedTest(name = "tied {0}")
    @ValueSource(booleans = {true, false})
    void aPackedHeadIsSavedPackedUnderItsTablesNameAndLoadsBack(boolean tied) throws IOException {
        OptCheckpoints.Spec spec = OptCheckpoints.Spec.small().sized(37, 64, 3, 4, 128, 20).stored(DType.F16);
        Path source = tmp.resolve("head-source");
        if (tied) OptCheckpoints.write(source, spec, OptCheckpoints.generate(spec, 12));
        else OptCheckpoints.writeUntied(source, spec, OptCheckpoints.generate(spec, 12), 13);
        Files.write(source.resolve("tokenizer.json"), HfTokenizer.minilm().json());
        LoadedModel.Causal model = (LoadedModel.Causal) Models.load(source.toString());
        ModelQuantizer.apply(model.model(), Map.of("layers.1", new QuantSpec.Int(4, 32, false),
                CausalLM.LM_HEAD, new QuantSpec.Int(4, 32, false)));
        Path dir = tmp.resolve("head-saved");
        QuantizedCheckpoint.write(model, null, dir);

        String module = tied ? "model.decoder.embed_tokens" : "lm_head";
        var q = JSON.readTree(dir.resolve(HfCheckpoint.CONFIG).toFile()).get("quantization_config");
        var targets = q.get("config_groups").get("group_0").get("targets");
        assertEquals(7, targets.size(), targets.toString());
        assertEquals(module, targets.get(6).asText());
        assertFalse(q.get("ignore").toString().contains("lm_head"), q.toString());
        Safetensors st = Safetensors.open(dir.resolve(HfCheckpoint.SINGLE));
        assertTrue(st.names().contains(module + ".weight_packed"), st.names().toString());
        assertFalse(st.names().contains(module + ".weight"), "the dense table is not written beside the packed one");
        assertEquals(!tied, st.names().contains("model.decoder.embed_tokens.weight"), "an untied embedding stays dense");
        assertSizeReportPlusHeader(dir, model.model(), 7);

        CausalLM loaded = ((LoadedModel.Causal) Models.load(dir.toString())).model();
        PackedWeight head = assertInstanceOf(PackedWeight.class, loaded.lmHead().weight());
        assertEquals("int4-g32", head.format());
        assertTrue(head.codes().isMapped(), "the packed head is a view of the mapped file");
        float[] expected = model.model().logits(TOKENS);
        assertArrayEquals(expected, loaded.logits(TOKENS), 1e-5f * maxAbs(expected));
        assertArrayEquals(model.model().otherParameters().get("embed_tokens.weight"),
                loaded.otherParameters().get("embed_tokens.weight"));
    }

    @Test
    void configFollowsCompressedTensors() throws IOException {
        var q = JSON.readTree(saved.resolve(HfCheckpoint.CONFIG).toFile()).get("quantization_config");
        assertEquals("compressed-tensors", q.get("quant_method").asText());
        assertEquals("pack-quantized", q.get("format").asText());
        var g0 = q.get("config_groups").get("group_0");
        assertEquals(Q0, g0.get("targets").get(0).asText());
        assertEquals(4, g0.get("weights").get("num_bits").asInt());
        assertEquals("group", g0.get("weights").get("strategy").asText());
        assertEquals(32, g0.get("weights").get("group_size").asInt());
        var g1 = q.get("config_groups").get("group_1").get("weights");
        assertEquals("channel", g1.get("strategy").asText());
        assertTrue(g1.get("symmetric").asBoolean());
        assertEquals("model.decoder.layers.2.self_attn.q_proj", q.get("ignore").get(0).asText());
        assertEquals(64, q.get("cptquant").get("sha256").asText().length());
    }

    @Test
    void overwritesOnlyEmptyOrPreviousOutput() throws IOException {
        QuantizedCheckpoint.write(quantized, null, saved);
        assertTrue(Files.notExists(saved.resolve(QuantizedCheckpoint.PLAN)));
        Path other = Files.createDirectories(tmp.resolve("other"));
        Files.writeString(other.resolve("notes.txt"), "keep me");
        assertThrows(IllegalArgumentException.class, () -> QuantizedCheckpoint.write(quantized, null, other));
        assertEquals("keep me", Files.readString(other.resolve("notes.txt")));
        try (Stream<Path> s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp")));
        }
    }

    @Test
    void refusesDamagedOrMismatchedFiles() throws IOException {
        Path weights = saved.resolve(HfCheckpoint.SINGLE), config = saved.resolve(HfCheckpoint.CONFIG);
        assertRefused(weights, "checksum mismatch", dir -> {
            try (FileChannel ch = FileChannel.open(dir.resolve(HfCheckpoint.SINGLE), StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[] {42}), ch.size() - 3);
            }
        });
        assertRefused(config, "num_bits 3 outside {4, 8, 16}", dir -> editConfig(dir,
                q -> ((ObjectNode) q.get("config_groups").get("group_0").get("weights")).put("num_bits", 3)));
        assertRefused(config, "unknown quant_method \"gptq\"", dir -> editConfig(dir, q -> q.put("quant_method", "gptq")));
        assertRefused(weights, "missing tensor " + Q0 + ".weight_scale", dir -> rewrite(dir, Q0 + ".weight_scale", null));
        assertRefused(weights, "missing tensor " + Q0 + ".weight_zero_point", dir -> rewrite(dir, Q0 + ".weight_zero_point", null));
        assertRefused(weights, Q0 + ".weight_shape is [64, 32]", dir -> rewrite(dir, Q0 + ".weight_shape",
                new SafetensorsWriterEntry(DType.I32, new long[] {2}, ints(64, 32))));
        assertRefused(weights, FC2_2 + ".weight_scale has shape [64, 2], expected [64, 1]", dir -> rewrite(dir,
                FC2_2 + ".weight_scale", new SafetensorsWriterEntry(DType.F16, new long[] {64, 2}, MemorySegment.ofArray(new short[128]))));
    }

    /** stories260K (llama2.c, tied classifier) saved with a mixed plan and loaded back. */
    @Nested
    class Llama {
        private static final String Q0 = "model.layers.0.self_attn.q_proj";
        private static final String DOWN3 = "model.layers.3.mlp.down_proj";
        private LoadedModel.Causal llama;
        private Path llamaSaved;

        @BeforeEach
        void saveMixedPlan() throws IOException {
            llama = LlamaModel.load(roundedStories("llama-source", false));
            // stories260K's hidden_dim is 172 = 4 x 43: its w2 (down_proj) takes per-channel or group 4.
            Map<String, QuantSpec> units = new LinkedHashMap<>();
            units.put("layers.0", new QuantSpec.Int(4, 32, false));
            units.put("layers.0.feed_forward.w2", new QuantSpec.Int(4, 0, false));
            units.put("layers.1", new QuantSpec.Int(8, 0, true));
            units.put("layers.2", new QuantSpec.Half(DType.F16));
            units.put("layers.3", new QuantSpec.Int(4, 16, true));
            units.put("layers.3.feed_forward.w2", new QuantSpec.Int(8, 4, false));
            ModelQuantizer.apply(llama.model(), units);
            llamaSaved = tmp.resolve("llama-saved");
            QuantizedCheckpoint.write(llama, new BitPlan(units, "test"), llamaSaved);
        }

        /**
         * stories260K with every parameter rounded to F16 (as the OPT above is stored in F16), so saving its
         * norms and embedding as F16 loses nothing and the loaded model must compute the same logits;
         * {@code untied} appends a separate classifier (the embedding's rows in reverse order).
         */
        private Path roundedStories(String name, boolean untied) throws IOException {
            Path bin = TestData.require(LlamaModelTest.STORIES);
            Path source = Files.createDirectories(tmp.resolve(name));
            byte[] original = Files.readAllBytes(bin);
            int vocab = 512, dim = 64, header = 7 * Integer.BYTES, table = vocab * dim * Float.BYTES;
            ByteBuffer b = ByteBuffer.allocate(original.length + (untied ? table : 0)).order(ByteOrder.LITTLE_ENDIAN);
            b.put(original);
            for (int at = header; at < original.length; at += Float.BYTES) {
                b.putFloat(at, Float.float16ToFloat(Float.floatToFloat16(b.getFloat(at))));
            }
            if (untied) {
                assertEquals(vocab, b.getInt(5 * Integer.BYTES), "stories260K's classifier is tied");
                b.putInt(5 * Integer.BYTES, -vocab);
                int rowBytes = dim * Float.BYTES;
                for (int row = vocab - 1; row >= 0; row--) b.put(b.array(), header + row * rowBytes, rowBytes);
            }
            Files.write(source.resolve("stories260K.bin"), b.array());
            Files.copy(bin.resolveSibling("tok512.bin"), source.resolve("tok512.bin"));
            return source.resolve("stories260K.bin");
        }

        @Test
        void untiedClassifierIsSavedAsLmHead() throws IOException {
            LoadedModel.Causal untied = LlamaModel.load(roundedStories("untied-source", true));
            ModelQuantizer.apply(untied.model(), Map.of("layers.1", new QuantSpec.Int(8, 0, true)));
            Path dir = tmp.resolve("untied-saved");
            QuantizedCheckpoint.write(untied, null, dir);
            assertFalse(JSON.readTree(dir.resolve(HfCheckpoint.CONFIG).toFile()).get("tie_word_embeddings").asBoolean());
            assertArrayEquals(new long[] {512, 64}, Safetensors.open(dir.resolve(HfCheckpoint.SINGLE)).tensor("lm_head.weight").shape());
            int[] tokens = untied.tokenizer().encode(LlamaModelTest.TEXT, 512);
            float[] expected = untied.model().logits(tokens);
            assertArrayEquals(expected, ((LoadedModel.Causal) Models.load(dir.toString())).model().logits(tokens),
                    1e-5f * maxAbs(expected));
        }

        @Test
        void loadedLlamaComputesAndGeneratesWhatTheInMemoryQuantizedModelDoes() {
            LoadedModel.Causal loaded = assertInstanceOf(LoadedModel.Causal.class, Models.load(llamaSaved.toString()));
            int[] tokens = llama.tokenizer().encode(LlamaModelTest.TEXT, 512);
            float[] expected = llama.model().logits(tokens);
            assertArrayEquals(expected, loaded.model().logits(tokens), 1e-5f * maxAbs(expected));
            assertArrayEquals(tokens, loaded.tokenizer().encode(LlamaModelTest.TEXT, 512));

            List<Block> blocks = loaded.model().blocks();
            PackedWeight q0 = assertInstanceOf(PackedWeight.class, blocks.get(0).linears().get(0).weight());
            assertEquals("int4-g32", q0.format());
            assertTrue(q0.codes().isMapped(), "packed codes are views of the mapped file");
            assertEquals("int4", blocks.get(0).linears().get(5).weight().format());
            assertEquals("int8-sym", blocks.get(1).linears().get(1).weight().format());
            assertEquals("f16", blocks.get(2).linears().get(6).weight().format());
            assertEquals("int8-g4", blocks.get(3).linears().get(5).weight().format());
            assertEquals(llama.model().blocks().get(4).linears().get(4).weight().format(),
                    blocks.get(4).linears().get(4).weight().format(), "unquantized layers keep their dtype");

            int[] prompt = llama.tokenizer().encode("Once upon a time", 512);
            IntPredicate stop = t -> t == Llama2cTokenizer.BOS || t == Llama2cTokenizer.EOS;
            int[] inMemory = new Generator(llama.model(), stop).generate(prompt, 120, Sampler.greedy(), t -> {}).tokens();
            int[] fromFile = new Generator(loaded.model(), stop).generate(prompt, 120, Sampler.greedy(), t -> {}).tokens();
            assertTrue(inMemory.length > prompt.length + 20, "the quantized model still tells a story");
            assertArrayEquals(inMemory, fromFile);
        }

        @Test
        void directoryHoldsLlamaConfigHfNamesAndTheLlama2cTokenizer() throws IOException {
            var config = JSON.readTree(llamaSaved.resolve(HfCheckpoint.CONFIG).toFile());
            assertEquals("llama", config.get("model_type").asText());
            assertEquals("interleaved", config.get("rope_style").asText());
            assertEquals(64, config.get("hidden_size").asInt());
            assertEquals(172, config.get("intermediate_size").asInt());
            assertEquals(4, config.get("num_key_value_heads").asInt());
            assertTrue(config.get("tie_word_embeddings").asBoolean());
            assertEquals(1e-5, config.get("rms_norm_eps").asDouble());
            var q = config.get("quantization_config");
            assertEquals(Q0, q.get("config_groups").get("group_0").get("targets").get(0).asText());
            assertEquals("model.layers.2.self_attn.q_proj", q.get("ignore").get(0).asText());
            Safetensors st = Safetensors.open(llamaSaved.resolve(HfCheckpoint.SINGLE));
            assertTrue(st.names().containsAll(List.of("model.embed_tokens.weight", "model.norm.weight",
                    "model.layers.4.input_layernorm.weight", "model.layers.4.post_attention_layernorm.weight",
                    "model.layers.0.mlp.gate_proj.weight_packed", "model.layers.4.mlp.up_proj.weight")), st.names().toString());
            assertFalse(st.names().contains("lm_head.weight"), "a tied classifier is the embedding");
            assertEquals(DType.F16, st.tensor("model.embed_tokens.weight").dtype());
            assertArrayEquals(Files.readAllBytes(TestData.require(LlamaModelTest.STORIES).resolveSibling("tok512.bin")),
                    Files.readAllBytes(llamaSaved.resolve(QuantizedCheckpoint.LLAMA_TOKENIZER)));
            long packed = llama.model().blocks().stream().flatMap(b -> b.linears().stream())
                    .filter(l -> l.weight() instanceof PackedWeight).count();
            // SizeReport counts the untouched layer 4 at its F32 bytes, as it is saved.
            assertSizeReportPlusHeader(llamaSaved, llama.model(), packed);
        }

        @ParameterizedTest(name = "tied {0}")
        @ValueSource(booleans = {true, false})
        void aPackedClassifierIsSavedPackedAndLoadsBack(boolean tied) throws IOException {
            LoadedModel.Causal model = LlamaModel.load(roundedStories("head-source", !tied));
            ModelQuantizer.apply(model.model(), Map.of("layers.2", new QuantSpec.Int(8, 0, true),
                    CausalLM.LM_HEAD, new QuantSpec.Int(8, 0, false)));
            Path dir = tmp.resolve("head-saved");
            QuantizedCheckpoint.write(model, null, dir);

            String module = tied ? "model.embed_tokens" : "lm_head";
            var q = JSON.readTree(dir.resolve(HfCheckpoint.CONFIG).toFile()).get("quantization_config");
            assertEquals(module, q.get("config_groups").get("group_1").get("targets").get(0).asText(), q.toString());
            assertEquals("channel", q.get("config_groups").get("group_1").get("weights").get("strategy").asText());
            Safetensors st = Safetensors.open(dir.resolve(HfCheckpoint.SINGLE));
            assertFalse(st.names().contains(module + ".weight"), st.names().toString());
            assertEquals(!tied, st.names().contains("model.embed_tokens.weight"), "an untied embedding stays dense");
            assertSizeReportPlusHeader(dir, model.model(), 8);

            LoadedModel.Causal loaded = (LoadedModel.Causal) Models.load(dir.toString());
            assertEquals("int8", loaded.model().lmHead().weight().format());
            int[] tokens = model.tokenizer().encode(LlamaModelTest.TEXT, 512);
            float[] expected = model.model().logits(tokens);
            assertArrayEquals(expected, loaded.model().logits(tokens), 1e-5f * maxAbs(expected));
        }

        @Test
        void refusesDamagedOrMismatchedLlamaFiles() throws IOException {
            Path weights = llamaSaved.resolve(HfCheckpoint.SINGLE), config = llamaSaved.resolve(HfCheckpoint.CONFIG);
            assertRefused(llamaSaved, weights, "checksum mismatch", dir -> {
                try (FileChannel ch = FileChannel.open(dir.resolve(HfCheckpoint.SINGLE), StandardOpenOption.WRITE)) {
                    ch.write(ByteBuffer.wrap(new byte[] {42}), ch.size() - 3);
                }
            });
            assertRefused(llamaSaved, weights, Q0 + ".weight_shape is [64, 32]", dir -> rewrite(dir, Q0 + ".weight_shape",
                    new SafetensorsWriterEntry(DType.I32, new long[] {2}, ints(64, 32))));
            assertRefused(llamaSaved, weights, DOWN3 + ".weight_scale has shape [64, 2], expected [64, 43]", dir -> rewrite(dir,
                    DOWN3 + ".weight_scale", new SafetensorsWriterEntry(DType.F16, new long[] {64, 2}, MemorySegment.ofArray(new short[128]))));
            assertRefused(llamaSaved, weights, "missing tensor model.layers.1.post_attention_layernorm.weight",
                    dir -> rewrite(dir, "model.layers.1.post_attention_layernorm.weight", null));
            assertRefused(llamaSaved, config, "rope_style \"rotate_half\" is not supported",
                    dir -> editRoot(dir, root -> root.put("rope_style", "rotate_half")));
            assertRefused(llamaSaved, config, "n_heads 8 is not a multiple of n_kv_heads 3",
                    dir -> editRoot(dir, root -> root.put("num_key_value_heads", 3)));
            Path tokenizer = llamaSaved.resolve(QuantizedCheckpoint.LLAMA_TOKENIZER);
            assertRefused(llamaSaved, tokenizer, "has 3 tokens but config.json's vocab_size is 512", dir -> {
                ByteBuffer tiny = ByteBuffer.allocate(4 + 3 * 9).order(ByteOrder.LITTLE_ENDIAN).putInt(1);
                for (byte c : new byte[] {'a', 'b', 'c'}) tiny.putFloat(0f).putInt(1).put(c);
                Files.write(dir.resolve(QuantizedCheckpoint.LLAMA_TOKENIZER), tiny.array());
            });
        }
    }

    private record SafetensorsWriterEntry(DType dtype, long[] shape, MemorySegment bytes) {}

    @FunctionalInterface
    private interface Damage {
        void apply(Path dir) throws IOException;
    }

    private void assertRefused(Path file, String expected, Damage damage) throws IOException {
        assertRefused(saved, file, expected, damage);
    }

    /** Copies the checkpoint {@code source}, damages the copy and checks loading it fails naming {@code file}. */
    private void assertRefused(Path source, Path file, String expected, Damage damage) throws IOException {
        Path copy = Files.createTempDirectory(tmp, "damaged");
        try (Stream<Path> s = Files.list(source)) {
            for (Path p : s.toList()) Files.copy(p, copy.resolve(p.getFileName()));
        }
        damage.apply(copy);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(copy.toString()));
        assertTrue(e.getMessage().startsWith(copy.resolve(file.getFileName()).toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static void editConfig(Path dir, Consumer<ObjectNode> edit) throws IOException {
        editRoot(dir, root -> edit.accept((ObjectNode) root.get("quantization_config")));
    }

    private static void editRoot(Path dir, Consumer<ObjectNode> edit) throws IOException {
        Path config = dir.resolve(HfCheckpoint.CONFIG);
        ObjectNode root = (ObjectNode) JSON.readTree(config.toFile());
        edit.accept(root);
        Files.writeString(config, JSON.writeValueAsString(root));
    }

    /** Rewrites model.safetensors without (or replacing) one tensor and records the new checksum. */
    private static void rewrite(Path dir, String name, SafetensorsWriterEntry replacement) throws IOException {
        Path file = dir.resolve(HfCheckpoint.SINGLE);
        Safetensors st = Safetensors.open(file);
        SafetensorsWriter w = new SafetensorsWriter();
        for (String n : st.names()) {
            Safetensors.Tensor t = st.tensor(n);
            if (!n.equals(name)) w.add(n, t.dtype(), t.shape(), t.data());
            else if (replacement != null) w.add(n, replacement.dtype(), replacement.shape(), replacement.bytes());
        }
        Path rewritten = dir.resolve("rewritten.safetensors");
        w.write(rewritten);
        Files.move(rewritten, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        String sha = sha256(file);
        editConfig(dir, q -> ((ObjectNode) q.get("cptquant")).put("sha256", sha));
    }

    private static MemorySegment ints(int... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) b.putInt(x);
        return MemorySegment.ofArray(b.array());
    }

    private static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
