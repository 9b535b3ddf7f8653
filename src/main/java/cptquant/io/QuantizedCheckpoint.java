package cptquant.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import cptquant.allocate.BitPlan;
import cptquant.io.Llama2cCheckpoint.Tensor;
import cptquant.model.BertModel;
import cptquant.model.Block;
import cptquant.model.CausalLM;
import cptquant.model.LlamaModel;
import cptquant.model.LoadedModel;
import cptquant.model.OptModel;
import cptquant.model.TransformerModel;
import cptquant.tensor.DType;
import cptquant.tensor.DenseWeight;
import cptquant.tensor.Linear;
import cptquant.tensor.PackedWeight;
import cptquant.tensor.Weight;
import cptquant.tokenize.HfTokenizer;
import cptquant.tokenize.Llama2cTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A saved, self-describing quantized model directory in the layout of the compressed-tensors
 * "pack-quantized" convention: model.safetensors (packed codes, FP16 scales, U8 zero points, I32 shapes
 * for packed linears, the LM head included when packed, under the tied token embedding's name when tied;
 * every other parameter as FP16), config.json (the family's config plus a
 * "quantization_config" naming each packed module's bits, group size and symmetry, and a "cptquant" block
 * with the SHA-256 of model.safetensors), the tokenizer (tokenizer.json, or tokenizer.bin for llama2.c
 * Llama models) and, when a plan was given, plan.json. See the README section "Saved quantized
 * checkpoints". OPT, BERT and Llama models can be saved.
 */
public final class QuantizedCheckpoint {
    public static final String QUANT_METHOD = "compressed-tensors";
    public static final String FORMAT = "pack-quantized";
    public static final String PLAN = "plan.json";
    public static final String TOKENIZER = "tokenizer.json";
    /** The llama2.c tokenizer file a saved Llama model carries. */
    public static final String LLAMA_TOKENIZER = "tokenizer.bin";
    private static final String OPT_PREFIX = "model.decoder.";
    private static final String LM_HEAD = "lm_head.weight";
    private static final ObjectMapper JSON = new ObjectMapper();

    private QuantizedCheckpoint() {}

    /** One config group: modules sharing bits, group size and symmetry (groupSize 0 = per channel). */
    private record Scheme(int bits, int groupSize, boolean symmetric) {
        static Scheme of(PackedWeight p) {
            return new Scheme(p.bits(), p.groupSize() == p.inFeatures() ? 0 : p.groupSize(), p.symmetric());
        }

        /** The group size for a module with {@code in} inputs. */
        int groupSizeFor(int in) { return groupSize == 0 ? in : groupSize; }
    }

    /**
     * Saves {@code model} as its block linears and LM head are stored now (apply the plan with
     * ModelQuantizer first).
     * The directory is built beside {@code dir} and renamed into place; an existing {@code dir} is
     * replaced only when it is empty or a previous cptquant output (config.json with a cptquant block).
     *
     * @param plan the plan that was applied, saved as plan.json; null for none
     */
    public static void write(LoadedModel model, BitPlan plan, Path dir) {
        Naming naming = switch (model.model()) {
            case OptModel opt -> new OptNaming(opt);
            case BertModel bert -> new BertNaming(bert);
            case LlamaModel llama -> LlamaNaming.of(llama.config());
            default -> throw new IllegalArgumentException("saving quantized checkpoints supports OPT, BERT and Llama "
                    + "models, not " + model.model().architecture());
        };
        boolean llama = naming instanceof LlamaNaming;
        byte[] tokenizer = switch (model.tokenizer()) {
            case HfTokenizer t when !llama -> t.json();
            case Llama2cTokenizer t when llama -> t.fileBytes();
            default -> throw new IllegalArgumentException("saving a " + model.model().architecture() + " model needs its "
                    + (llama ? "llama2.c tokenizer" : "Hugging Face tokenizer.json tokenizer") + ", not "
                    + model.model().architecture() + " with " + model.tokenizer().getClass().getSimpleName());
        };
        Path target = dir.toAbsolutePath();
        checkReplaceable(target);
        try {
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".tmp");
            // createTempDirectory is owner-only; the renamed result should be readable like any output
            if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            try {
                ObjectNode quant = writeWeights(model.model(), naming, tmp.resolve(HfCheckpoint.SINGLE));
                ObjectNode config = naming.config();
                ObjectNode ours = quant.putObject("cptquant");
                ours.put("version", 1);
                ours.put("sha256", sha256(tmp.resolve(HfCheckpoint.SINGLE)));
                if (plan != null) {
                    plan.write(tmp.resolve(PLAN));
                    ours.put("plan", PLAN);
                }
                config.set("quantization_config", quant);
                AtomicFiles.writeString(tmp.resolve(HfCheckpoint.CONFIG),
                        JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config) + "\n");
                AtomicFiles.write(tmp.resolve(llama ? LLAMA_TOKENIZER : TOKENIZER), tokenizer);
                // Directories cannot be swapped in one rename: move the old one aside first, so a crash
                // leaves either the old or the new checkpoint under a readable name, never a half-written one.
                Path old = Files.exists(target) ? tmp.resolveSibling(tmp.getFileName() + ".old") : null;
                if (old != null) Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                if (old != null) AtomicFiles.deleteTree(old);
            } finally {
                AtomicFiles.deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot write (" + e.getMessage() + ")", e);
        }
    }

    private static void checkReplaceable(Path target) {
        if (!Files.exists(target)) return;
        if (!Files.isDirectory(target)) throw new IllegalArgumentException(target + ": exists and is not a directory");
        try (Stream<Path> s = Files.list(target)) {
            if (s.findAny().isEmpty()) return;
        } catch (IOException e) {
            throw new UncheckedIOException(target + ": cannot list (" + e.getMessage() + ")", e);
        }
        Path config = target.resolve(HfCheckpoint.CONFIG);
        boolean ours = Files.isRegularFile(config) && quantizationConfig(config, readJson(config)) != null
                && readJson(config).path("quantization_config").has("cptquant");
        if (!ours) {
            throw new IllegalArgumentException(target + ": exists, is not empty and is not a cptquant quantized "
                    + "checkpoint; refusing to overwrite it");
        }
    }

    /** Adds every parameter to model.safetensors and returns the compressed-tensors quantization_config. */
    private static ObjectNode writeWeights(TransformerModel model, Naming naming, Path file) {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", FORMAT);
        Map<Scheme, List<String>> groups = new LinkedHashMap<>();
        List<String> ignore = new ArrayList<>();
        Map<String, float[]> others = new LinkedHashMap<>();
        model.otherParameters().forEach((k, v) -> others.put(naming.other(k), v));
        for (Block b : model.blocks()) {
            for (Linear l : b.linears()) {
                String module = naming.module(l.name());
                switch (l.weight()) {
                    case PackedWeight p -> {
                        groups.computeIfAbsent(Scheme.of(p), k -> new ArrayList<>()).add(module);
                        addPacked(w, module, p);
                    }
                    case DenseWeight d -> {
                        ignore.add(module);
                        w.add(module + ".weight", d.dtype(), new long[] {d.outFeatures(), d.inFeatures()}, d.data());
                    }
                }
                // BERT lists its linear biases among its other parameters; OPT keeps them on the Linear only.
                if (l.bias() != null && !others.containsKey(module + ".bias")) {
                    w.addFloats(module + ".bias", DType.F32, new long[] {l.out()}, l.bias());
                }
            }
        }
        // A packed LM head replaces its dense table (the tied embedding's) with a packed module of that name.
        boolean packedHead = false;
        if (model instanceof CausalLM c && c.lmHead().weight() instanceof PackedWeight p) {
            String table = naming.other(c.lmHeadTable());
            others.remove(table);
            groups.computeIfAbsent(Scheme.of(p), k -> new ArrayList<>()).add(moduleOf(table));
            addPacked(w, moduleOf(table), p);
            packedHead = true;
        }
        // Vectors (norms, biases) stay F32: they are tiny, and FP16 norms alone cost a fixed-head classifier
        // about 3 accuracy points on MiniLM/IMDB. Tables and matrices are stored F16.
        others.forEach((name, v) -> {
            long[] shape = naming.shape(name, v.length);
            w.addFloats(name, shape.length == 1 ? DType.F32 : DType.F16, shape, v);
        });
        w.write(file);
        ObjectNode q = JSON.createObjectNode();
        q.put("quant_method", QUANT_METHOD);
        q.put("format", FORMAT);
        ObjectNode cg = q.putObject("config_groups");
        int g = 0;
        for (Map.Entry<Scheme, List<String>> e : groups.entrySet()) {
            ObjectNode group = cg.putObject("group_" + g++);
            ArrayNode targets = group.putArray("targets");
            e.getValue().forEach(targets::add);
            ObjectNode weights = group.putObject("weights");
            Scheme s = e.getKey();
            weights.put("num_bits", s.bits());
            weights.put("type", "int");
            weights.put("symmetric", s.symmetric());
            weights.put("strategy", s.groupSize() == 0 ? "channel" : "group");
            if (s.groupSize() == 0) weights.putNull("group_size");
            else weights.put("group_size", s.groupSize());
        }
        ArrayNode ig = q.putArray("ignore");
        ignore.forEach(ig::add);
        if (!packedHead) ig.add("lm_head");
        return q;
    }

    /** The module a matrix stored as {@code tensor} belongs to ("lm_head.weight" is module "lm_head"). */
    private static String moduleOf(String tensor) {
        if (!tensor.endsWith(".weight")) throw new IllegalArgumentException("not a weight matrix: " + tensor);
        return tensor.substring(0, tensor.length() - ".weight".length());
    }

    private static void addPacked(SafetensorsWriter w, String module, PackedWeight p) {
        long out = p.outFeatures();
        w.add(module + ".weight_packed", DType.U8, new long[] {out, PackedWeight.rowBytes(p.bits(), p.inFeatures())}, p.codes());
        w.add(module + ".weight_scale", DType.F16, new long[] {out, p.groups()}, p.scales());
        if (!p.symmetric()) w.add(module + ".weight_zero_point", DType.U8, new long[] {out, p.groups()}, p.zeros());
        ByteBuffer shape = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(p.outFeatures()).putInt(p.inFeatures());
        w.add(module + ".weight_shape", DType.I32, new long[] {2}, MemorySegment.ofArray(shape.array()));
    }

    /** How a family names its parameters in the file and describes itself in config.json. */
    private interface Naming {
        /** File module name of a block linear (its name as quantization addresses it). */
        String module(String linear);

        /** File tensor name of an {@link TransformerModel#otherParameters()} key. */
        String other(String key);

        /** Shape of a non-linear parameter stored under file name {@code name}. */
        long[] shape(String name, int length);

        ObjectNode config();
    }

    /** OPT: Hugging Face names under "model.decoder." (lm_head at the top). */
    private record OptNaming(OptModel opt) implements Naming {
        @Override public String module(String linear) { return OPT_PREFIX + linear; }

        @Override public String other(String key) { return key.equals(LM_HEAD) ? LM_HEAD : OPT_PREFIX + key; }

        @Override
        public long[] shape(String name, int length) {
            OptModel.Config c = opt.config();
            return switch (name.startsWith(OPT_PREFIX) ? name.substring(OPT_PREFIX.length()) : name) {
                case "embed_tokens.weight", LM_HEAD -> new long[] {c.vocabSize(), c.wordEmbedProjDim()};
                case "embed_positions.weight" -> new long[] {length / c.hiddenSize(), c.hiddenSize()};
                case "project_in.weight" -> new long[] {c.hiddenSize(), c.wordEmbedProjDim()};
                case "project_out.weight" -> new long[] {c.wordEmbedProjDim(), c.hiddenSize()};
                default -> new long[] {length};
            };
        }

        @Override
        public ObjectNode config() {
            OptModel.Config c = opt.config();
            ObjectNode n = JSON.createObjectNode();
            n.put("model_type", "opt");
            n.putArray("architectures").add("OPTForCausalLM");
            n.put("vocab_size", c.vocabSize());
            n.put("hidden_size", c.hiddenSize());
            n.put("num_hidden_layers", c.layers());
            n.put("num_attention_heads", c.heads());
            n.put("ffn_dim", c.ffnDim());
            n.put("max_position_embeddings", c.maxPositions());
            n.put("word_embed_proj_dim", c.wordEmbedProjDim());
            n.put("do_layer_norm_before", c.layerNormBefore());
            n.put("_remove_final_layer_norm", c.layerNormBefore() && !c.finalLayerNorm());
            n.put("enable_bias", c.enableBias());
            n.put("layer_norm_elementwise_affine", c.layerNormAffine());
            n.put("activation_function", c.activation().name().toLowerCase(Locale.ROOT));
            n.put("tie_word_embeddings", c.tieWordEmbeddings());
            n.put("torch_dtype", "float16");
            return n;
        }
    }

    /** BERT: Hugging Face BertModel names ("encoder.layer.3.attention.self.query"). */
    private record BertNaming(BertModel bert) implements Naming {
        private static final Map<String, String> MODULES = Map.of("attention.query", "attention.self.query",
                "attention.key", "attention.self.key", "attention.value", "attention.self.value",
                "attention.output", "attention.output.dense", "intermediate", "intermediate.dense",
                "output", "output.dense");

        @Override
        public String module(String linear) {
            int dot = linear.indexOf('.', "layers.".length());
            String hf = MODULES.get(linear.substring(dot + 1));
            if (!linear.startsWith("layers.") || hf == null) throw new IllegalArgumentException("not a BERT block linear: " + linear);
            return "encoder.layer." + linear.substring("layers.".length(), dot) + "." + hf;
        }

        @Override public String other(String key) { return key; }

        @Override
        public long[] shape(String name, int length) {
            int h = bert.hiddenSize();
            return name.endsWith("embeddings.weight") || name.equals("pooler.dense.weight") || name.equals("classifier.weight")
                    ? new long[] {length / h, h} : new long[] {length};
        }

        @Override
        public ObjectNode config() {
            ObjectNode n = JSON.createObjectNode();
            n.put("model_type", "bert");
            n.putArray("architectures").add("BertModel");
            n.put("hidden_size", bert.hiddenSize());
            n.put("num_hidden_layers", bert.blocks().size());
            n.put("num_attention_heads", bert.numHeads());
            n.put("intermediate_size", bert.blocks().getFirst().linears().get(4).out());
            n.put("vocab_size", bert.otherParameters().get("embeddings.word_embeddings.weight").length / bert.hiddenSize());
            n.put("max_position_embeddings", bert.maxPositions());
            n.put("layer_norm_eps", bert.eps());
            n.put("torch_dtype", "float16");
            return n;
        }
    }

    /**
     * Llama: Hugging Face LlamaForCausalLM names ("model.layers.3.self_attn.q_proj", "mlp.gate_proj" for
     * llama2.c's w1, "mlp.down_proj" for w2, "mlp.up_proj" for w3) over llama2.c's unpermuted q/k rows,
     * which config.json declares as rope_style "interleaved".
     *
     * @param names the model's own name of every parameter (see {@link LlamaModel#name}) to its file name
     */
    private record LlamaNaming(Llama2cCheckpoint.Config c, Map<String, String> names) implements Naming {
        static final String ROPE_STYLE = "interleaved";

        static LlamaNaming of(Llama2cCheckpoint.Config c) {
            Map<String, String> names = new HashMap<>();
            for (Tensor t : Tensor.values()) {
                if (t == Tensor.FREQ_CIS_REAL || t == Tensor.FREQ_CIS_IMAG || (t == Tensor.WCLS && c.sharedClassifier())) continue;
                for (int i = 0; i < (t.perLayer() ? c.nLayers() : 1); i++) names.put(LlamaModel.name(t, i), file(t, i));
            }
            return new LlamaNaming(c, Map.copyOf(names));
        }

        /** The file name of tensor {@code t} of {@code layer}: a module name for block linears, else a tensor name. */
        static String file(Tensor t, int layer) {
            String l = "model.layers." + layer + ".";
            return switch (t) {
                case TOKEN_EMBEDDING -> "model.embed_tokens.weight";
                case RMS_ATT -> l + "input_layernorm.weight";
                case WQ -> l + "self_attn.q_proj";
                case WK -> l + "self_attn.k_proj";
                case WV -> l + "self_attn.v_proj";
                case WO -> l + "self_attn.o_proj";
                case RMS_FFN -> l + "post_attention_layernorm.weight";
                case W1 -> l + "mlp.gate_proj";
                case W2 -> l + "mlp.down_proj";
                case W3 -> l + "mlp.up_proj";
                case RMS_FINAL -> "model.norm.weight";
                case WCLS -> LM_HEAD;
                case FREQ_CIS_REAL, FREQ_CIS_IMAG -> throw new IllegalArgumentException(t + " is not a model parameter");
            };
        }

        @Override public String module(String linear) { return named(linear); }

        @Override public String other(String key) { return named(key); }

        private String named(String own) {
            String n = names.get(own);
            if (n == null) throw new IllegalArgumentException("not a parameter of this Llama model: " + own);
            return n;
        }

        @Override
        public long[] shape(String name, int length) {
            return name.equals(LM_HEAD) || name.equals(file(Tensor.TOKEN_EMBEDDING, 0))
                    ? new long[] {c.vocabSize(), c.dim()} : new long[] {length};
        }

        @Override
        public ObjectNode config() {
            ObjectNode n = JSON.createObjectNode();
            n.put("model_type", "llama");
            n.putArray("architectures").add("LlamaForCausalLM");
            n.put("hidden_size", c.dim());
            n.put("intermediate_size", c.hiddenDim());
            n.put("num_hidden_layers", c.nLayers());
            n.put("num_attention_heads", c.nHeads());
            n.put("num_key_value_heads", c.nKvHeads());
            n.put("vocab_size", c.vocabSize());
            n.put("max_position_embeddings", c.seqLen());
            n.put("tie_word_embeddings", c.sharedClassifier());
            // The float's shortest decimal (1e-5), not its binary expansion.
            n.put("rms_norm_eps", Double.parseDouble(Float.toString(LlamaModel.RMS_EPS)));
            n.put("rope_theta", LlamaModel.ROPE_THETA);
            n.put("rope_style", ROPE_STYLE);
            n.put("hidden_act", "silu");
            n.put("torch_dtype", "float16");
            return n;
        }
    }

    /** True when {@code dir}'s config.json carries a quantization_config (so {@link #load} applies). */
    public static boolean isQuantized(Path dir) {
        Path config = dir.resolve(HfCheckpoint.CONFIG);
        return Files.isRegularFile(config) && HfConfig.read(config).has("quantization_config");
    }

    /**
     * Loads a directory written by {@link #write}, memory-mapping model.safetensors: packed linears stay
     * views of the mapping. Verifies the file's SHA-256 first (one sequential read of the file, about a
     * second per GB from page cache) and every packed module's tensors against the config.
     */
    public static LoadedModel load(Path dir) {
        Path configFile = dir.resolve(HfCheckpoint.CONFIG);
        HfConfig config = HfConfig.read(configFile);
        JsonNode q = quantizationConfig(configFile, readJson(configFile));
        if (q == null) throw new ModelFormatException(configFile, "has no quantization_config");
        Path weights = dir.resolve(HfCheckpoint.SINGLE);
        if (!Files.isRegularFile(weights)) throw new ModelFormatException(dir, "no " + HfCheckpoint.SINGLE);
        String expected = q.path("cptquant").path("sha256").asText("");
        if (expected.isEmpty()) throw new ModelFormatException(configFile, "quantization_config has no cptquant.sha256");
        String actual = sha256(weights);
        if (!actual.equals(expected)) {
            throw new ModelFormatException(weights, "checksum mismatch: SHA-256 " + actual + ", config.json records "
                    + expected + " (damaged or replaced file)");
        }
        Reader reader = new Reader(config, Safetensors.open(weights), schemes(configFile, q), new HashSet<>());
        String type = config.getString("model_type");
        TransformerModel model = switch (type) {
            case "opt" -> OptModel.load(reader);
            case "bert" -> bert(reader);
            case "llama" -> llama(reader);
            default -> throw new ModelFormatException(configFile, "quantized checkpoints of model_type \"" + type
                    + "\" are not supported (supported: opt, bert, llama)");
        };
        Set<String> unused = new HashSet<>(reader.schemes().keySet());
        unused.removeAll(reader.used());
        if (!unused.isEmpty()) {
            throw new ModelFormatException(configFile, "config_groups target modules the model does not have: "
                    + unused.stream().sorted().toList());
        }
        return switch (model) {
            case OptModel opt -> new LoadedModel.Causal(dir.toString(), opt, HfTokenizer.load(tokenizerFile(dir, TOKENIZER)));
            case BertModel bert -> new LoadedModel.Encoding(dir.toString(), bert, HfTokenizer.load(tokenizerFile(dir, TOKENIZER)));
            case LlamaModel llama -> {
                Path file = tokenizerFile(dir, LLAMA_TOKENIZER);
                Llama2cTokenizer tokenizer = Llama2cTokenizer.read(file);
                if (tokenizer.vocabSize() != llama.vocabSize()) {
                    throw new ModelFormatException(file, "has " + tokenizer.vocabSize() + " tokens but config.json's "
                            + "vocab_size is " + llama.vocabSize());
                }
                yield new LoadedModel.Causal(dir.toString(), llama, tokenizer);
            }
            default -> throw new IllegalStateException("unhandled family " + model.architecture());
        };
    }

    private static Path tokenizerFile(Path dir, String name) {
        Path file = dir.resolve(name);
        if (!Files.isRegularFile(file)) throw new ModelFormatException(dir, "no " + name);
        return file;
    }

    /**
     * Llama reads every parameter in place: packed or dense block linears and F16 embeddings are views of
     * the mapping; only the RMSNorm vectors are copied to the heap.
     */
    private static LlamaModel llama(Reader reader) {
        HfConfig c = reader.config();
        String rope = c.getString("rope_style", "");
        if (!rope.equals(LlamaNaming.ROPE_STYLE)) {
            throw new ModelFormatException(c.file(), "rope_style \"" + rope + "\" is not supported (supported: "
                    + LlamaNaming.ROPE_STYLE + ", llama2.c's unpermuted q/k layout)");
        }
        if ((float) c.getDouble("rms_norm_eps") != LlamaModel.RMS_EPS || c.getDouble("rope_theta") != LlamaModel.ROPE_THETA) {
            throw new ModelFormatException(c.file(), "rms_norm_eps " + c.getDouble("rms_norm_eps") + " and rope_theta "
                    + c.getDouble("rope_theta") + " differ from the only supported " + LlamaModel.RMS_EPS + " and "
                    + LlamaModel.ROPE_THETA);
        }
        Llama2cCheckpoint.Config config = new Llama2cCheckpoint.Config(c.getInt("hidden_size"), c.getInt("intermediate_size"),
                c.getInt("num_hidden_layers"), c.getInt("num_attention_heads"), c.getInt("num_key_value_heads"),
                c.getInt("vocab_size"), c.getBoolean("tie_word_embeddings"), c.getInt("max_position_embeddings"));
        String problem = config.problem();
        if (problem != null) throw new ModelFormatException(c.file(), "impossible Llama sizes " + config + ": " + problem);
        return LlamaModel.of(config, new LlamaModel.Parameters() {
            @Override
            public Weight matrix(Tensor t, int layer) { return weight(moduleOf(LlamaNaming.file(t, layer)), t); }

            @Override
            public Weight linear(Tensor t, int layer) { return weight(LlamaNaming.file(t, layer), t); }

            private Weight weight(String module, Tensor t) {
                long[] s = t.shape(config);
                return reader.linearWeight(module, (int) s[0], (int) s[1]);
            }

            @Override
            public float[] vector(Tensor t, int layer) {
                return reader.tensor(LlamaNaming.file(t, layer)).requireFloat().requireShape(config.dim()).toFloats();
            }
        });
    }

    /**
     * BERT keeps its parameters as heap float arrays, so it is built from dequantized weights and then
     * given back the stored weights as mapped views (packed, or dense in their saved dtype), so the forward
     * pass multiplies by exactly what the file holds.
     */
    private static BertModel bert(Reader reader) {
        HfConfig c = reader.config();
        int h = c.getInt("hidden_size"), f = c.getInt("intermediate_size");
        Map<String, float[]> params = new LinkedHashMap<>();
        for (String name : reader.file().names()) {
            if (!name.matches(".*\\.weight_(packed|scale|zero_point|shape)")) params.put(name, reader.tensor(name).requireFloat().toFloats());
        }
        Map<String, Weight> packed = new HashMap<>();
        for (String module : reader.schemes().keySet()) {
            boolean ffnOut = module.endsWith(".output.dense") && !module.contains(".attention.");
            Weight w = reader.linearWeight(module, module.endsWith(".intermediate.dense") ? f : h, ffnOut ? f : h);
            packed.put(module, w);
            params.put(module + ".weight", w.toFloat());
        }
        BertModel bert = new BertModel(params, c.getInt("num_attention_heads"), (float) c.getDouble("layer_norm_eps", 1e-12));
        BertNaming naming = new BertNaming(bert);
        for (Block b : bert.blocks()) {
            for (Linear l : b.linears()) {
                String module = naming.module(l.name());
                Weight w = packed.remove(module);
                l.setWeight(w != null ? w : reader.linearWeight(module, l.out(), l.in()));
            }
        }
        if (!packed.isEmpty()) {
            throw new ModelFormatException(reader.file().file(), "config_groups target modules the model does not have: "
                    + packed.keySet().stream().sorted().toList());
        }
        return bert;
    }

    private static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read JSON (" + e.getMessage() + ")", e);
        }
    }

    /** The quantization_config object, or null when absent; an unknown method or format is an error. */
    private static JsonNode quantizationConfig(Path file, JsonNode root) {
        JsonNode q = root.get("quantization_config");
        if (q == null || q.isNull()) return null;
        String method = q.path("quant_method").asText("");
        if (!method.equals(QUANT_METHOD)) {
            throw new ModelFormatException(file, "unknown quant_method \"" + method + "\" (supported: " + QUANT_METHOD + ")");
        }
        String format = q.path("format").asText("");
        if (!format.equals(FORMAT)) {
            throw new ModelFormatException(file, "unsupported format \"" + format + "\" (supported: " + FORMAT + ")");
        }
        return q;
    }

    /** Packed module name to its scheme, from config_groups. */
    private static Map<String, Scheme> schemes(Path file, JsonNode q) {
        Map<String, Scheme> out = new HashMap<>();
        for (Map.Entry<String, JsonNode> g : q.path("config_groups").properties()) {
            JsonNode w = g.getValue().path("weights");
            int bits = w.path("num_bits").asInt(-1);
            if (bits != 4 && bits != 8 && bits != 16) {
                throw new ModelFormatException(file, g.getKey() + ": num_bits " + w.path("num_bits") + " outside {4, 8, 16}");
            }
            if (bits == 16) {
                throw new ModelFormatException(file, g.getKey() + ": 16-bit modules are stored dense and belong in \"ignore\"");
            }
            if (!w.path("type").asText("").equals("int")) {
                throw new ModelFormatException(file, g.getKey() + ": weights type " + w.path("type") + " is not \"int\"");
            }
            String strategy = w.path("strategy").asText("");
            int groupSize = switch (strategy) {
                case "channel" -> 0;
                case "group" -> w.path("group_size").asInt(0);
                default -> throw new ModelFormatException(file, g.getKey() + ": strategy \"" + strategy
                        + "\" is not supported (group, channel)");
            };
            if (strategy.equals("group") && groupSize <= 0) {
                throw new ModelFormatException(file, g.getKey() + ": group strategy needs a positive group_size");
            }
            Scheme s = new Scheme(bits, groupSize, w.path("symmetric").asBoolean(false));
            for (JsonNode t : g.getValue().path("targets")) {
                if (out.put(t.asText(), s) != null) {
                    throw new ModelFormatException(file, "module " + t.asText() + " is targeted by two config groups");
                }
            }
        }
        return out;
    }

    /** Serves dense tensors as stored and packed linears as {@link PackedWeight} views of the mapping. */
    private record Reader(HfConfig config, Safetensors file, Map<String, Scheme> schemes, Set<String> used)
            implements WeightSource {

        @Override
        public Safetensors.Tensor tensor(String name) { return file.tensor(name); }

        @Override
        public Weight linearWeight(String module, int out, int in) {
            Scheme s = schemes.get(module);
            if (s == null) return WeightSource.super.linearWeight(module, out, in);
            used.add(module);
            Safetensors.Tensor shape = typed(module + ".weight_shape", DType.I32).requireShape(2);
            int storedOut = shape.data().getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 0);
            int storedIn = shape.data().getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 1);
            if (storedOut != out || storedIn != in) {
                throw new ModelFormatException(file.file(), module + ".weight_shape is [" + storedOut + ", "
                        + storedIn + "], config.json implies [" + out + ", " + in + "]");
            }
            int groupSize = s.groupSizeFor(in);
            if (in % groupSize != 0) {
                throw new ModelFormatException(file.file(), module + ": group_size " + groupSize
                        + " does not divide in features " + in);
            }
            int groups = in / groupSize;
            MemorySegment codes = typed(module + ".weight_packed", DType.U8)
                    .requireShape(out, PackedWeight.rowBytes(s.bits(), in)).data();
            MemorySegment scales = typed(module + ".weight_scale", DType.F16).requireShape(out, groups).data();
            MemorySegment zeros = null;
            String zeroName = module + ".weight_zero_point";
            if (!s.symmetric()) zeros = typed(zeroName, DType.U8).requireShape(out, groups).data();
            else if (file.names().contains(zeroName)) {
                throw new ModelFormatException(file.file(), zeroName + " present but the module is symmetric");
            }
            return new PackedWeight(s.bits(), groupSize, out, in, codes, scales, zeros);
        }

        private Safetensors.Tensor typed(String name, DType dtype) {
            Safetensors.Tensor t = file.tensor(name);
            if (t.dtype() != dtype) {
                throw new ModelFormatException(file.file(), "tensor " + name + " has dtype " + t.dtype()
                        + ", expected " + dtype);
            }
            return t;
        }
    }

    /** Hex SHA-256 of a file, read sequentially. */
    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read (" + e.getMessage() + ")", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }
}
