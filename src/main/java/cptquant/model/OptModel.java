package cptquant.model;

import cptquant.io.HfCheckpoint;
import cptquant.io.HfConfig;
import cptquant.io.ModelFormatException;
import cptquant.io.WeightSource;
import cptquant.kernel.Attention;
import cptquant.kernel.Ops;
import cptquant.tensor.DenseWeight;
import cptquant.tensor.Linear;
import cptquant.tensor.Weight;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Meta's OPT decoder, computing exactly what Hugging Face's OPTForCausalLM computes: learned positions
 * offset by 2, pre- or post-LayerNorm blocks, an FFN with the configured activation, optional
 * project_in/project_out around the blocks when word_embed_proj_dim differs from hidden_size (OPT-350M),
 * and an LM head tied to the token embeddings unless the config unties it. Weights stay in the
 * memory-mapped checkpoint.
 */
public final class OptModel implements CausalLM {
    private static final float LN_EPS = 1e-5f; // PyTorch's nn.LayerNorm default, which OPT uses
    private static final int POSITION_OFFSET = 2; // OPT's learned positions reserve the first two rows

    /** The config.json fields OPT uses, with Hugging Face's defaults. */
    public record Config(int vocabSize, int hiddenSize, int layers, int heads, int ffnDim, int maxPositions,
                         int wordEmbedProjDim, boolean layerNormBefore, boolean enableBias,
                         boolean layerNormAffine, boolean finalLayerNorm, Activation activation,
                         boolean tieWordEmbeddings) {

        static Config from(HfConfig c) {
            String type = c.getString("model_type");
            if (!type.equals("opt")) {
                throw new ModelFormatException(c.file(), "model_type \"" + type + "\" is not supported by the OPT loader");
            }
            int hidden = c.getInt("hidden_size");
            int heads = c.getInt("num_attention_heads");
            if (hidden <= 0 || heads <= 0 || hidden % heads != 0) {
                throw new ModelFormatException(c.file(), "hidden_size " + hidden
                        + " must be a positive multiple of num_attention_heads " + heads);
            }
            boolean before = c.getBoolean("do_layer_norm_before", true);
            return new Config(c.getInt("vocab_size"), hidden, c.getInt("num_hidden_layers"), heads,
                    c.getInt("ffn_dim"), c.getInt("max_position_embeddings"),
                    c.getInt("word_embed_proj_dim", hidden), before, c.getBoolean("enable_bias", true),
                    c.getBoolean("layer_norm_elementwise_affine", true),
                    before && !c.getBoolean("_remove_final_layer_norm", false),
                    Activation.of(c, c.getString("activation_function", "relu")),
                    c.getBoolean("tie_word_embeddings", true));
        }

        int headDim() { return hiddenSize / heads; }

        boolean projects() { return wordEmbedProjDim != hiddenSize; }
    }

    /** The FFN activations Hugging Face names "relu", "gelu" (exact erf) and "silu"/"swish". */
    public enum Activation {
        RELU, GELU, SILU;

        static Activation of(HfConfig c, String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "relu" -> RELU;
                case "gelu" -> GELU;
                case "silu", "swish" -> SILU;
                default -> throw new ModelFormatException(c.file(), "activation_function \"" + name
                        + "\" is not supported (relu, gelu, silu)");
            };
        }

        void apply(float[] x, int n) {
            switch (this) {
                case RELU -> Ops.relu(x, n);
                case GELU -> Ops.gelu(x, n);
                case SILU -> Ops.silu(x, n);
            }
        }
    }

    /** LayerNorm parameters; ones and zeros when the checkpoint has no elementwise affine. */
    private record Norm(String name, float[] gamma, float[] beta, boolean stored) {
        void apply(float[] x, float[] out, int rows) {
            Ops.layerNorm(x, out, rows, gamma.length, gamma, beta, LN_EPS);
        }
    }

    /** How a layer attends: the full causal sequence, or one new position against a cache. */
    @FunctionalInterface
    private interface Attend {
        void apply(int layer, float[] q, float[] k, float[] v, int rows, int startPos, float[] out);
    }

    private record Layer(Linear q, Linear k, Linear v, Linear o, Linear fc1, Linear fc2,
                         Norm attnNorm, Norm ffnNorm) {}

    private final Config config;
    /** The untied token embedding; null when it is the LM head's weight. */
    private final Weight embedTokens;
    private final DenseWeight embedPositions;
    private final Linear projectIn;
    private final Linear projectOut;
    private final Norm finalNorm;
    private final Linear lmHead;
    private final List<Layer> layers;
    private final List<Block> blocks;

    private OptModel(Config config, Weight embedTokens, DenseWeight embedPositions, Linear projectIn,
                     Linear projectOut, Norm finalNorm, Linear lmHead, List<Layer> layers) {
        this.config = config;
        this.embedTokens = embedTokens;
        this.embedPositions = embedPositions;
        this.projectIn = projectIn;
        this.projectOut = projectOut;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.layers = List.copyOf(layers);
        List<Block> bs = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            bs.add(new Block(i, "layers." + i, List.of(l.q(), l.k(), l.v(), l.o(), l.fc1(), l.fc2())));
        }
        this.blocks = List.copyOf(bs);
    }

    /** Loads a Hugging Face OPT checkpoint directory (config.json + safetensors), memory-mapping its weights. */
    public static OptModel load(Path dir) {
        return load(HfCheckpoint.open(dir));
    }

    /** Loads OPT from named tensors with Hugging Face names (block linears and the LM head may be packed). */
    public static OptModel load(WeightSource source) {
        return new Loader(source, Config.from(source.config())).model();
    }

    /** Reads and shape-checks each tensor against the config. */
    private record Loader(WeightSource ck, Config c) {
        private static final String DECODER = "model.decoder.";

        OptModel model() {
            int h = c.hiddenSize(), p = c.wordEmbedProjDim();
            Weight embed = ck.linearWeight(DECODER + "embed_tokens", c.vocabSize(), p);
            DenseWeight positions = weight(DECODER + "embed_positions.weight", c.maxPositions() + POSITION_OFFSET, h);
            Linear in = c.projects() ? new Linear("project_in", weight(DECODER + "project_in.weight", h, p), null) : null;
            Linear out = c.projects() ? new Linear("project_out", weight(DECODER + "project_out.weight", p, h), null) : null;
            Norm fin = c.finalLayerNorm() ? norm("final_layer_norm") : null;
            Linear head = new Linear(LM_HEAD, c.tieWordEmbeddings() ? embed : ck.linearWeight("lm_head", c.vocabSize(), p), null);
            List<Layer> layers = new ArrayList<>();
            for (int i = 0; i < c.layers(); i++) {
                String n = "layers." + i + ".";
                layers.add(new Layer(linear(n + "self_attn.q_proj", h, h), linear(n + "self_attn.k_proj", h, h),
                        linear(n + "self_attn.v_proj", h, h), linear(n + "self_attn.out_proj", h, h),
                        linear(n + "fc1", c.ffnDim(), h), linear(n + "fc2", h, c.ffnDim()),
                        norm(n + "self_attn_layer_norm"), norm(n + "final_layer_norm")));
            }
            return new OptModel(c, c.tieWordEmbeddings() ? null : embed, positions, in, out, fin, head, layers);
        }

        private DenseWeight weight(String name, int rows, int cols) {
            return ck.tensor(name).requireFloat().requireShape(rows, cols).asWeight();
        }

        private float[] vector(String name, int n) {
            return ck.tensor(name).requireFloat().requireShape(n).toFloats();
        }

        /** A block linear named as quantization addresses it, e.g. "layers.3.fc1". */
        private Linear linear(String name, int out, int in) {
            float[] bias = c.enableBias() ? vector(DECODER + name + ".bias", out) : null;
            return new Linear(name, ck.linearWeight(DECODER + name, out, in), bias);
        }

        private Norm norm(String name) {
            int h = c.hiddenSize();
            if (!c.layerNormAffine()) {
                float[] ones = new float[h];
                Arrays.fill(ones, 1f);
                return new Norm(name, ones, new float[h], false);
            }
            return new Norm(name, vector(DECODER + name + ".weight", h), vector(DECODER + name + ".bias", h), true);
        }
    }

    public Config config() { return config; }

    @Override public String architecture() { return "opt"; }

    @Override public List<Block> blocks() { return blocks; }

    @Override public int hiddenSize() { return config.hiddenSize(); }

    @Override public int vocabSize() { return config.vocabSize(); }

    @Override public int maxPositions() { return config.maxPositions(); }

    @Override public Linear lmHead() { return lmHead; }

    @Override public String lmHeadTable() { return embedTokens == null ? "embed_tokens.weight" : "lm_head.weight"; }

    /** The table token embeddings are looked up in: the LM head's current weight when tied. */
    private Weight embedding() { return embedTokens == null ? lmHead.weight() : embedTokens; }

    /**
     * Embeddings, positions, projections, LayerNorm parameters and an untied LM head, copied to fresh
     * arrays (dequantized where packed). Block linear biases are left out: they belong to their {@link Linear}.
     */
    @Override
    public Map<String, float[]> otherParameters() {
        Map<String, float[]> m = new LinkedHashMap<>();
        m.put("embed_tokens.weight", embedding().toFloat());
        m.put("embed_positions.weight", embedPositions.toFloat());
        if (projectIn != null) m.put("project_in.weight", projectIn.weight().toFloat());
        for (Layer l : layers) {
            putNorm(m, l.attnNorm());
            putNorm(m, l.ffnNorm());
        }
        if (finalNorm != null) putNorm(m, finalNorm);
        if (projectOut != null) m.put("project_out.weight", projectOut.weight().toFloat());
        if (embedTokens != null) m.put("lm_head.weight", lmHead.weight().toFloat());
        return m;
    }

    private static void putNorm(Map<String, float[]> m, Norm n) {
        if (!n.stored()) return;
        m.put(n.name() + ".weight", n.gamma().clone());
        m.put(n.name() + ".bias", n.beta().clone());
    }

    @Override
    public float[] logits(int[] tokens, BlockObserver observer) {
        int n = tokens.length, h = config.hiddenSize();
        if (n == 0 || n > config.maxPositions()) {
            throw new IllegalArgumentException("OPT sequence length must be 1.." + config.maxPositions() + ", got " + n);
        }
        Attend causal = (layer, q, k, v, rows, start, out) ->
                Attention.multiHead(q, k, v, 1, rows, config.heads(), config.heads(), config.headDim(), true, null, 1f, out);
        float[] x = input(tokens, 0);
        for (int i = 0; i < layers.size(); i++) {
            float[] in = x.clone();
            layer(i, x, n, 0, causal);
            observer.onBlock(i, in, x, n, h, null);
        }
        return output(x, n);
    }

    @Override
    public DecodingSession startSession() {
        return new Session();
    }

    /** The residual stream entering the first block: embeddings, project_in, positions from startPos. */
    private float[] input(int[] tokens, int startPos) {
        int n = tokens.length, h = config.hiddenSize();
        float[] x = embed(tokens);
        if (projectIn != null) x = projectIn.forward(x, n);
        float[] pos = new float[n * h];
        for (int t = 0; t < n; t++) embedPositions.row(startPos + t + POSITION_OFFSET, pos, t * h);
        Ops.addInPlace(x, pos, n * h);
        return x;
    }

    /** Final LayerNorm, project_out and the LM head over n rows of the residual stream. */
    private float[] output(float[] x, int n) {
        if (finalNorm != null) finalNorm.apply(x, x, n);
        if (projectOut != null) x = projectOut.forward(x, n);
        float[] logits = new float[Math.multiplyExact(n, config.vocabSize())];
        lmHead.weight().matmul(x, n, logits);
        return logits;
    }

    /** Token embedding rows, n x wordEmbedProjDim. */
    private float[] embed(int[] tokens) {
        int d = config.wordEmbedProjDim();
        Weight table = embedding();
        float[] x = new float[tokens.length * d];
        for (int t = 0; t < tokens.length; t++) {
            int id = tokens[t];
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + config.vocabSize());
            }
            table.row(id, x, t * d);
        }
        return x;
    }

    /** Decoder layer {@code index} applied in place to the residual stream x (n x hidden) of positions startPos.. */
    private void layer(int index, float[] x, int n, int startPos, Attend attend) {
        Layer l = layers.get(index);
        int h = config.hiddenSize(), size = n * h;
        boolean pre = config.layerNormBefore();
        float[] a = x;
        if (pre) {
            a = new float[size];
            l.attnNorm().apply(x, a, n);
        }
        float[] q = l.q().forward(a, n);
        float scaling = (float) Math.pow(config.headDim(), -0.5);
        for (int i = 0; i < size; i++) q[i] *= scaling; // HF scales the query projection, not the scores
        float[] k = l.k().forward(a, n);
        float[] v = l.v().forward(a, n);
        float[] ctx = new float[size];
        attend.apply(index, q, k, v, n, startPos, ctx);
        Ops.addInPlace(x, l.o().forward(ctx, n), size);
        if (!pre) l.attnNorm().apply(x, x, n);

        float[] f = x;
        if (pre) {
            f = new float[size];
            l.ffnNorm().apply(x, f, n);
        }
        float[] up = l.fc1().forward(f, n);
        config.activation().apply(up, up.length);
        Ops.addInPlace(x, l.fc2().forward(up, n), size);
        if (!pre) l.ffnNorm().apply(x, x, n);
    }

    /** Decoding with every layer's keys and values cached. */
    private final class Session implements DecodingSession {
        private final Attend cached;
        private int position;

        Session() {
            // The query is already scaled (as in Hugging Face), so the scores are not scaled again.
            KvCache cache = new KvCache(layers.size(), config.maxPositions(), config.heads(), config.heads(),
                    config.headDim(), 1f);
            cached = (layer, q, k, v, rows, pos, out) -> cache.attend(layer, q, k, v, pos, out);
        }

        @Override
        public float[] next(int token) {
            if (position >= config.maxPositions()) {
                throw new IllegalStateException("the session is full: " + config.maxPositions() + " positions");
            }
            float[] x = input(new int[] {token}, position);
            for (int i = 0; i < layers.size(); i++) layer(i, x, 1, position, cached);
            position++;
            return output(x, 1);
        }

        @Override
        public int position() { return position; }
    }
}
