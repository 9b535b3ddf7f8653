package cptquant.model;

import cptquant.io.Llama2cCheckpoint;
import cptquant.io.Llama2cCheckpoint.Config;
import cptquant.io.Llama2cCheckpoint.Tensor;
import cptquant.io.ModelFormatException;
import cptquant.kernel.Attention;
import cptquant.kernel.Ops;
import cptquant.kernel.Rotary;
import cptquant.tensor.Linear;
import cptquant.tensor.Weight;
import cptquant.tokenize.Llama2cTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Llama architecture as llama2.c defines it: pre-RMSNorm blocks of rotary grouped-query attention and
 * a SwiGLU feed-forward (w2(silu(w1 x) * w3 x)), a final RMSNorm and a classifier that is the token
 * embedding when tied. Block linears are named as in Meta's checkpoints ("layers.3.attention.wq"). Built
 * from a llama2.c checkpoint or from any {@link Parameters} (a saved quantized checkpoint).
 */
public final class LlamaModel implements CausalLM {
    /** llama2.c's RMSNorm epsilon and rotary base, fixed for the family (its header carries neither). */
    public static final float RMS_EPS = 1e-5f;
    public static final double ROPE_THETA = Rotary.DEFAULT_THETA;

    /** One block's parameters; the linears are the ones quantization swaps weights in. */
    private record Layer(float[] attentionNorm, Linear wq, Linear wk, Linear wv, Linear wo,
                         float[] ffnNorm, Linear w1, Linear w2, Linear w3) {
        List<Linear> linears() { return List.of(wq, wk, wv, wo, w1, w2, w3); }
    }

    /** How a block attends: the full causal sequence, or one new position against a cache. */
    @FunctionalInterface
    private interface Attend {
        void apply(int layer, float[] q, float[] k, float[] v, int rows, int startPos, float[] out);
    }

    private final Config config;
    /** The untied token embedding; null when it is the classifier's weight. */
    private final Weight embedding;
    private final Linear classifier;
    private final float[] finalNorm;
    private final List<Layer> layers;
    private final List<Block> blocks;
    private final Rotary rotary;
    private final float scale;

    /**
     * Where a model's parameters come from, addressed by llama2.c tensor and layer (0 for tensors that
     * are not per layer); an implementation checks each against the shape the config implies.
     */
    public interface Parameters {
        /** The token embedding or the untied classifier, dense or packed. */
        Weight matrix(Tensor t, int layer);

        /** A block linear's weight, dense or packed. */
        Weight linear(Tensor t, int layer);

        /** An RMSNorm weight vector. */
        float[] vector(Tensor t, int layer);
    }

    private LlamaModel(Config config, Parameters p) {
        this.config = config;
        Weight embedding = p.matrix(Tensor.TOKEN_EMBEDDING, 0);
        this.embedding = config.sharedClassifier() ? null : embedding;
        this.classifier = new Linear(LM_HEAD, config.sharedClassifier() ? embedding : p.matrix(Tensor.WCLS, 0), null);
        this.finalNorm = p.vector(Tensor.RMS_FINAL, 0);
        List<Layer> ls = new ArrayList<>();
        List<Block> bs = new ArrayList<>();
        for (int i = 0; i < config.nLayers(); i++) {
            Layer layer = new Layer(p.vector(Tensor.RMS_ATT, i),
                    linear(p, Tensor.WQ, i), linear(p, Tensor.WK, i), linear(p, Tensor.WV, i), linear(p, Tensor.WO, i),
                    p.vector(Tensor.RMS_FFN, i),
                    linear(p, Tensor.W1, i), linear(p, Tensor.W2, i), linear(p, Tensor.W3, i));
            ls.add(layer);
            bs.add(new Block(i, "layers." + i, layer.linears()));
        }
        this.layers = List.copyOf(ls);
        this.blocks = List.copyOf(bs);
        this.rotary = new Rotary(config.headDim(), config.seqLen(), ROPE_THETA);
        this.scale = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    private static Linear linear(Parameters p, Tensor t, int layer) {
        return new Linear(name(t, layer), p.linear(t, layer), null);
    }

    /**
     * The name this model gives tensor {@code t} of {@code layer} in {@link #blocks()} and
     * {@link #otherParameters()}: Meta's ("layers.3.attention.wq", "tok_embeddings", "output").
     */
    public static String name(Tensor t, int layer) {
        String l = "layers." + layer + ".";
        return switch (t) {
            case TOKEN_EMBEDDING -> "tok_embeddings";
            case RMS_ATT -> l + "attention_norm";
            case WQ -> l + "attention.wq";
            case WK -> l + "attention.wk";
            case WV -> l + "attention.wv";
            case WO -> l + "attention.wo";
            case RMS_FFN -> l + "ffn_norm";
            case W1 -> l + "feed_forward.w1";
            case W2 -> l + "feed_forward.w2";
            case W3 -> l + "feed_forward.w3";
            case RMS_FINAL -> "norm";
            case WCLS -> "output";
            case FREQ_CIS_REAL, FREQ_CIS_IMAG -> throw new IllegalArgumentException(t + " is not a model parameter");
        };
    }

    /** The model over an opened checkpoint (weights stay memory-mapped). */
    public static LlamaModel of(Llama2cCheckpoint checkpoint) {
        return of(checkpoint.config(), new Parameters() {
            @Override public Weight matrix(Tensor t, int layer) { return checkpoint.weight(t, layer); }

            @Override public Weight linear(Tensor t, int layer) { return checkpoint.weight(t, layer); }

            @Override public float[] vector(Tensor t, int layer) { return checkpoint.floats(t, layer); }
        });
    }

    /** The model described by {@code config} over {@code parameters} (e.g. a saved quantized checkpoint). */
    public static LlamaModel of(Config config, Parameters parameters) {
        String problem = config.problem();
        if (problem != null) throw new IllegalArgumentException("impossible Llama config " + config + ": " + problem);
        return new LlamaModel(config, parameters);
    }

    /**
     * Loads a llama2.c checkpoint and the tokenizer beside it (tokenizer.bin or tok512.bin); the name is
     * the file name without ".bin".
     */
    public static LoadedModel.Causal load(Path bin) {
        LlamaModel model = of(Llama2cCheckpoint.open(bin));
        Llama2cTokenizer tokenizer = Llama2cTokenizer.beside(bin);
        if (tokenizer.vocabSize() != model.vocabSize()) {
            throw new ModelFormatException(bin, "the tokenizer beside it has " + tokenizer.vocabSize()
                    + " tokens but the checkpoint's vocabulary is " + model.vocabSize());
        }
        String name = bin.getFileName().toString().replaceFirst("\\.bin$", "");
        return new LoadedModel.Causal(name, model, tokenizer);
    }

    public Config config() { return config; }

    @Override public String architecture() { return "llama"; }

    @Override public List<Block> blocks() { return blocks; }

    @Override public int hiddenSize() { return config.dim(); }

    @Override public int vocabSize() { return config.vocabSize(); }

    @Override public int maxPositions() { return config.seqLen(); }

    @Override public Linear lmHead() { return classifier; }

    @Override public String lmHeadTable() { return name(embedding == null ? Tensor.TOKEN_EMBEDDING : Tensor.WCLS, 0); }

    /** The table token embeddings are looked up in: the classifier's current weight when tied. */
    private Weight embedding() { return embedding == null ? classifier.weight() : embedding; }

    /** Every parameter but the block linears, as fresh float arrays (dequantized where packed). */
    @Override
    public Map<String, float[]> otherParameters() {
        Map<String, float[]> m = new LinkedHashMap<>();
        m.put(name(Tensor.TOKEN_EMBEDDING, 0), embedding().toFloat());
        for (int i = 0; i < layers.size(); i++) {
            m.put(name(Tensor.RMS_ATT, i), layers.get(i).attentionNorm().clone());
            m.put(name(Tensor.RMS_FFN, i), layers.get(i).ffnNorm().clone());
        }
        m.put(name(Tensor.RMS_FINAL, 0), finalNorm.clone());
        if (embedding != null) m.put(name(Tensor.WCLS, 0), classifier.weight().toFloat());
        return m;
    }

    @Override
    public float[] logits(int[] tokens, BlockObserver observer) {
        int n = tokens.length;
        if (n == 0 || n > maxPositions()) {
            throw new IllegalArgumentException("sequence of " + n + " tokens; this model takes 1.." + maxPositions());
        }
        Attend causal = (layer, q, k, v, rows, start, out) -> Attention.multiHead(q, k, v, 1, rows,
                config.nHeads(), config.nKvHeads(), config.headDim(), true, null, scale, out);
        float[] x = embed(tokens);
        for (int i = 0; i < layers.size(); i++) {
            float[] y = block(i, x, n, 0, causal);
            observer.onBlock(i, x, y, n, config.dim(), null);
            x = y;
        }
        return classify(x, n);
    }

    @Override
    public DecodingSession startSession() {
        return new Session();
    }

    private float[] embed(int[] tokens) {
        int dim = config.dim();
        Weight table = embedding();
        float[] x = new float[tokens.length * dim];
        for (int t = 0; t < tokens.length; t++) {
            int id = tokens[t];
            if (id < 0 || id >= vocabSize()) throw new IllegalArgumentException("token id " + id + " outside vocabulary " + vocabSize());
            table.row(id, x, t * dim);
        }
        return x;
    }

    /** One block over {@code rows} positions starting at startPos; returns a new residual stream. */
    private float[] block(int i, float[] x, int rows, int startPos, Attend attend) {
        Layer l = layers.get(i);
        int dim = config.dim();
        float[] h = new float[rows * dim];
        Ops.rmsNorm(x, h, rows, dim, l.attentionNorm(), RMS_EPS);
        float[] q = l.wq().forward(h, rows), k = l.wk().forward(h, rows), v = l.wv().forward(h, rows);
        rotary.apply(q, rows, config.nHeads(), startPos);
        rotary.apply(k, rows, config.nKvHeads(), startPos);
        float[] att = new float[rows * dim];
        attend.apply(i, q, k, v, rows, startPos, att);
        float[] out = l.wo().forward(att, rows);
        Ops.addInPlace(out, x, rows * dim);

        Ops.rmsNorm(out, h, rows, dim, l.ffnNorm(), RMS_EPS);
        float[] gate = l.w1().forward(h, rows), up = l.w3().forward(h, rows);
        int hidden = rows * config.hiddenDim();
        Ops.silu(gate, hidden);
        Ops.mulInPlace(gate, up, hidden);
        Ops.addInPlace(out, l.w2().forward(gate, rows), rows * dim);
        return out;
    }

    private float[] classify(float[] x, int rows) {
        float[] h = new float[x.length];
        Ops.rmsNorm(x, h, rows, config.dim(), finalNorm, RMS_EPS);
        float[] logits = new float[rows * vocabSize()];
        classifier.weight().matmul(h, rows, logits);
        return logits;
    }

    /** Decoding with a key/value cache of every layer. */
    private final class Session implements DecodingSession {
        private final Attend cached;
        private int position;

        Session() {
            KvCache cache = new KvCache(layers.size(), config.seqLen(), config.nHeads(), config.nKvHeads(),
                    config.headDim(), scale);
            cached = (layer, q, k, v, rows, pos, out) -> cache.attend(layer, q, k, v, pos, out);
        }

        @Override
        public float[] next(int token) {
            if (position >= maxPositions()) {
                throw new IllegalStateException("the session is full: " + maxPositions() + " positions");
            }
            float[] x = embed(new int[] {token});
            for (int i = 0; i < layers.size(); i++) x = block(i, x, 1, position, cached);
            position++;
            return classify(x, 1);
        }

        @Override
        public int position() { return position; }
    }
}
