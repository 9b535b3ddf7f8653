package cptquant.io;

import cptquant.io.OnnxModel.Initializer;
import cptquant.io.OnnxModel.Node;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Recovers BERT parameters from an ONNX export by following the graph, never by initializer names
 * (exporters rename MatMul weights freely, e.g. "onnx::MatMul_885"). Embedding tables are the Gathers
 * fed by the token-id inputs and the position path; each layer's Q, K and V are told apart by how the
 * attention consumes them (Q and K meet in the score MatMul, V in the context MatMul after Softmax);
 * LayerNorm is accepted fused or decomposed (ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add).
 * Parameters come out under Hugging Face names with PyTorch layouts (linear weights [out, in]).
 */
public final class OnnxBert {
    private OnnxBert() {}

    /**
     * BERT parameters under Hugging Face names (e.g. "encoder.layer.0.attention.self.query.weight").
     *
     * @param tensors  parameter values, row-major in PyTorch layout
     * @param shapes   each parameter's shape
     * @param numHeads attention heads, read from the head-split Reshape
     * @param eps      LayerNorm epsilon (the same for every norm)
     */
    public record Checkpoint(Map<String, float[]> tensors, Map<String, int[]> shapes, int numHeads, float eps) {
        public Checkpoint {
            tensors = Map.copyOf(tensors);
            shapes = Map.copyOf(shapes);
        }

        /** Number of transformer layers. */
        public int numLayers() {
            int n = 0;
            while (tensors.containsKey("encoder.layer." + n + ".attention.self.query.weight")) n++;
            return n;
        }
    }

    /** Reads an ONNX BERT file. */
    public static Checkpoint read(Path file) {
        return extract(OnnxModel.read(file));
    }

    /** Maps the graph of {@code model} to BERT parameters; a graph of another shape is a ModelFormatException. */
    public static Checkpoint extract(OnnxModel model) {
        return new Walker(model).walk();
    }

    /** A fully connected layer found in the graph: weight [out][in], bias (null if none), and its result value. */
    private record Dense(float[] weight, int out, int in, float[] bias, String output) {}

    /** A LayerNorm found in the graph, with the value it produces. */
    private record Norm(float[] gamma, float[] beta, float eps, String output) {}

    /** A dense layer reached from a value, with the op types crossed on the way. */
    private record Reached(Dense dense, Set<String> ops) {}

    /** Where a projection meets the attention: the activation-by-activation MatMul, the input slot, and the head-split Reshape. */
    private record AttentionUse(Node matmul, int slot, Node reshape) {}

    /** Ops that only reshape, scale or retype a tensor on its way into or out of attention. */
    private static final Set<String> PASS_THROUGH = Set.of("Reshape", "Transpose", "Mul", "Div", "Cast", "Identity");

    /** Element-wise ops that may make up a GELU between the intermediate and output dense layers. */
    private static final Set<String> ACTIVATION_OPS = Set.of("Div", "Mul", "Add", "Erf", "Gelu", "Tanh", "Pow", "Sqrt", "Cast");

    private static final class Walker {
        private final OnnxModel model;
        private final Map<String, Node> producers = new HashMap<>();
        private final Map<String, List<Node>> consumers = new HashMap<>();
        private final Map<String, float[]> tensors = new LinkedHashMap<>();
        private final Map<String, int[]> shapes = new LinkedHashMap<>();
        private float eps = Float.NaN;
        private int numHeads;

        Walker(OnnxModel model) {
            this.model = model;
            for (Node n : model.nodes()) {
                for (String o : n.outputs()) producers.put(o, n);
                for (String i : n.inputs()) consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
            }
        }

        Checkpoint walk() {
            String hidden = embeddings();
            int layer = 0;
            while (weightedMatMuls(hidden).size() >= 3) hidden = layer(layer++, hidden);
            if (layer == 0) throw fail("no transformer layer after the embedding LayerNorm");
            pooler(hidden);
            return new Checkpoint(tensors, shapes, numHeads, eps);
        }

        /** Embedding tables and their LayerNorm; returns the value the first layer reads. */
        private String embeddings() {
            Node word = null, type = null, position = null;
            for (Node n : model.nodes()) {
                if (!n.opType().equals("Gather") || !(model.initializers().get(n.inputs().get(0)) instanceof Initializer.Floats t)
                        || t.dims().length != 2) {
                    continue;
                }
                if (!model.inputs().contains(n.inputs().get(1))) {
                    if (position != null) throw fail("more than one embedding table indexed by a computed position");
                    position = n;
                } else if (word == null || rows(n) > rows(word)) {
                    type = word;
                    word = n;
                } else {
                    type = n;
                }
            }
            if (word == null || position == null) throw fail("no word and position embedding Gathers (not a BERT graph?)");
            put("embeddings.word_embeddings.weight", table(word));
            put("embeddings.position_embeddings.weight", table(position));
            if (type != null) put("embeddings.token_type_embeddings.weight", table(type));
            String sum = word.outputs().get(0);
            for (List<Node> next; (next = users(sum)).size() == 1 && next.get(0).opType().equals("Add"); ) {
                sum = next.get(0).outputs().get(0);
            }
            return norm("embeddings.LayerNorm", sum);
        }

        /** One encoder layer reading {@code hidden}; returns the layer's output value. */
        private String layer(int i, String hidden) {
            String p = "encoder.layer." + i + ".";
            Dense q = null, k = null, v = null;
            Node scores = null, keyScores = null, context = null;
            for (Node mm : weightedMatMuls(hidden)) {
                Dense d = dense(mm);
                AttentionUse use = attentionUse(d.output());
                if (softmaxFed(use.matmul())) {
                    v = d;
                    context = use.matmul();
                } else if (use.slot() == 0) {
                    q = d;
                    scores = use.matmul();
                    numHeads(use.reshape(), d.out());
                } else {
                    k = d;
                    keyScores = use.matmul();
                }
            }
            if (q == null || k == null || v == null || scores != keyScores) {
                throw fail("layer " + i + ": could not tell query, key and value projections apart");
            }
            put(p + "attention.self.query", q);
            put(p + "attention.self.key", k);
            put(p + "attention.self.value", v);

            Dense attnOut = nextDense(context.outputs().get(0), PASS_THROUGH, "attention output projection").dense();
            put(p + "attention.output.dense", attnOut);
            String attn = norm(p + "attention.output.LayerNorm", residual(attnOut.output(), hidden));

            Node interNode = weightedMatMuls(attn).stream().findFirst()
                    .orElseThrow(() -> fail("layer " + i + ": no intermediate dense layer"));
            Dense inter = dense(interNode);
            put(p + "intermediate.dense", inter);
            Reached act = nextDense(inter.output(), ACTIVATION_OPS, "output dense layer after the activation");
            // Only erf GELU is supported: the tanh approximation would silently change the outputs.
            if (!act.ops().contains("Erf") && !act.ops().contains("Gelu")) {
                throw fail("layer " + i + ": intermediate activation " + act.ops() + " is not erf GELU");
            }
            Dense out = act.dense();
            put(p + "output.dense", out);
            return norm(p + "output.LayerNorm", residual(out.output(), attn));
        }

        /** Pooler (first token → dense → tanh) and a classifier after it, when the graph has them. */
        private void pooler(String hidden) {
            for (Node g : users(hidden)) {
                if (!g.opType().equals("Gather")) continue;
                List<Node> dense = users(g.outputs().get(0));
                if (dense.size() != 1 || weight(dense.get(0)) == null) continue;
                Dense pool = dense(dense.get(0));
                List<Node> act = users(pool.output());
                if (act.size() != 1 || !act.get(0).opType().equals("Tanh")) continue;
                put("pooler.dense", pool);
                for (Node c : users(act.get(0).outputs().get(0))) {
                    if (weight(c) != null) put("classifier", dense(c));
                }
                return;
            }
        }

        // ---- graph patterns ----

        /** MatMul/Gemm nodes reading {@code value} with a constant 2-D weight. */
        private List<Node> weightedMatMuls(String value) {
            return users(value).stream().filter(n -> weight(n) != null).toList();
        }

        /** The constant weight of a MatMul or Gemm node, or null. */
        private Initializer.Floats weight(Node n) {
            if (!n.opType().equals("MatMul") && !n.opType().equals("Gemm")) return null;
            return model.initializers().get(n.inputs().get(1)) instanceof Initializer.Floats f && f.dims().length == 2 ? f : null;
        }

        /** A MatMul (+ bias Add) or Gemm as a dense layer, weight transposed to [out, in] as needed. */
        private Dense dense(Node mm) {
            Initializer.Floats w = weight(mm);
            boolean stored = mm.opType().equals("Gemm") && mm.attribute("transB").map(a -> a.i() == 1).orElse(false);
            int out = (int) w.dims()[stored ? 0 : 1], in = (int) w.dims()[stored ? 1 : 0];
            float[] weight = stored ? w.data() : transpose(w.data(), in, out);
            String result = mm.outputs().get(0);
            float[] bias = null;
            if (mm.opType().equals("Gemm")) {
                if (mm.attribute("transA").map(a -> a.i() != 0).orElse(false)
                        || mm.attribute("alpha").map(a -> a.f() != 1f).orElse(false)
                        || mm.attribute("beta").map(a -> a.f() != 1f).orElse(false)) {
                    throw fail("Gemm " + mm.name() + " with transA, alpha or beta is not a plain dense layer");
                }
                if (mm.inputs().size() > 2) bias = vector(mm.inputs().get(2), out);
            } else {
                List<Node> next = users(result);
                if (next.size() == 1 && next.get(0).opType().equals("Add")) {
                    Node add = next.get(0);
                    float[] b = vector(other(add, result), out);
                    if (b != null) {
                        bias = b;
                        result = add.outputs().get(0);
                    }
                }
            }
            return new Dense(weight, out, in, bias, result);
        }

        /** Follows a projection into attention through reshapes and scalings to the first activation MatMul. */
        private AttentionUse attentionUse(String value) {
            Node reshape = null;
            for (int step = 0; step < 16; step++) {
                List<Node> next = users(value);
                if (next.size() != 1) break;
                Node n = next.get(0);
                if (n.opType().equals("MatMul") && weight(n) == null) {
                    return new AttentionUse(n, n.inputs().indexOf(value), reshape);
                }
                if (!PASS_THROUGH.contains(n.opType())) break;
                if (n.opType().equals("Reshape") && reshape == null) reshape = n;
                value = n.outputs().get(0);
            }
            throw fail("a projection reading the hidden state does not feed attention (at " + value + ")");
        }

        /** Whether a MatMul's first input is attention probabilities (so the MatMul mixes values). */
        private boolean softmaxFed(Node matmul) {
            Node p = producers.get(matmul.inputs().get(0));
            while (p != null && PASS_THROUGH.contains(p.opType())) p = producers.get(p.inputs().get(0));
            return p != null && p.opType().equals("Softmax");
        }

        /** Heads from the query's head-split Reshape: [batch, seq, heads, headDim] with constant heads or headDim. */
        private void numHeads(Node reshape, int hiddenSize) {
            if (reshape == null) throw fail("no head-split Reshape on the query path");
            long[] shape = shapeVector(reshape.inputs().get(1));
            int heads;
            if (shape.length == 4 && shape[2] > 0) heads = (int) shape[2];
            else if (shape.length == 4 && shape[3] > 0) heads = (int) (hiddenSize / shape[3]);
            else throw fail("cannot read the number of heads from Reshape " + reshape.name());
            if (heads <= 0 || hiddenSize % heads != 0) throw fail("hidden size " + hiddenSize + " is not divisible into " + heads + " heads");
            if (numHeads != 0 && numHeads != heads) throw fail("layers disagree on the number of heads");
            numHeads = heads;
        }

        /** A shape vector from a constant or a Concat of constants and computed sizes (computed ones are -1). */
        private long[] shapeVector(String value) {
            var c = model.constant(value);
            if (c.isPresent() && c.get() instanceof Initializer.Longs l) return l.data();
            Node concat = producers.get(value);
            if (concat == null || !concat.opType().equals("Concat")) return new long[0];
            long[] out = new long[concat.inputs().size()];
            for (int i = 0; i < out.length; i++) {
                var part = model.constant(concat.inputs().get(i));
                out[i] = part.isPresent() && part.get() instanceof Initializer.Longs l && l.data().length == 1 ? l.data()[0] : -1;
            }
            return out;
        }

        /** The first dense layer reached from {@code value} through ops in {@code via} (breadth first). */
        private Reached nextDense(String value, Set<String> via, String what) {
            ArrayDeque<String> queue = new ArrayDeque<>(List.of(value));
            Set<String> seen = new HashSet<>(queue);
            Set<String> ops = new HashSet<>();
            while (!queue.isEmpty()) {
                for (Node n : users(queue.poll())) {
                    if (weight(n) != null) return new Reached(dense(n), ops);
                    if (!via.contains(n.opType())) continue;
                    boolean tanhGelu = n.opType().equals("Gelu")
                            && n.attribute("approximate").map(a -> a.s().equals("tanh")).orElse(false);
                    ops.add(tanhGelu ? "Gelu(tanh)" : n.opType());
                    for (String o : n.outputs()) if (seen.add(o)) queue.add(o);
                }
            }
            throw fail("no " + what + " after " + value);
        }

        /** The residual Add after a sublayer, checked to add {@code skip}; returns its output. */
        private String residual(String value, String skip) {
            List<Node> next = users(value);
            if (next.size() != 1 || !next.get(0).opType().equals("Add") || !next.get(0).inputs().contains(skip)) {
                throw fail("no residual connection after " + value);
            }
            return next.get(0).outputs().get(0);
        }

        /** The LayerNorm applied to {@code x}, fused or decomposed; stores gamma and beta under {@code name}. */
        private String norm(String name, String x) {
            Norm n = users(x).stream().filter(u -> u.opType().equals("LayerNormalization")).findFirst()
                    .map(this::fusedNorm).orElseGet(() -> decomposedNorm(x));
            if (!Float.isNaN(eps) && eps != n.eps()) throw fail("LayerNorms disagree on epsilon (" + eps + " vs " + n.eps() + ")");
            eps = n.eps();
            put(name + ".weight", n.gamma(), n.gamma().length);
            put(name + ".bias", n.beta(), n.beta().length);
            return n.output();
        }

        private Norm fusedNorm(Node ln) {
            int dim = model.constant(ln.inputs().get(1)).map(t -> (int) t.size()).orElse(0);
            float e = ln.attribute("epsilon").map(OnnxModel.Attribute::f).orElse(1e-5f);
            return new Norm(vector(ln.inputs().get(1), dim), vector(ln.inputs().get(2), dim), e, ln.outputs().get(0));
        }

        /** x - mean(x), divided by sqrt(mean(centered^2) + eps), times gamma, plus beta. */
        private Norm decomposedNorm(String x) {
            Node mean = single(x, "ReduceMean");
            Node centered = users(x).stream()
                    .filter(u -> u.opType().equals("Sub") && u.inputs().contains(mean.outputs().get(0))).findFirst()
                    .orElseThrow(() -> fail("no LayerNorm after " + x));
            Node div = single(centered.outputs().get(0), "Div");
            Node sqrt = producer(div.inputs().get(1), "Sqrt");
            Node addEps = producer(sqrt.inputs().get(0), "Add");
            float e = addEps.inputs().stream().map(model::constant).flatMap(java.util.Optional::stream)
                    .filter(t -> t instanceof Initializer.Floats f && f.data().length == 1)
                    .map(t -> ((Initializer.Floats) t).data()[0]).findFirst()
                    .orElseThrow(() -> fail("LayerNorm after " + x + " has no constant epsilon"));
            Node scale = single(div.outputs().get(0), "Mul");
            Node shift = single(scale.outputs().get(0), "Add");
            String gamma = other(scale, div.outputs().get(0)), beta = other(shift, scale.outputs().get(0));
            int dim = model.constant(gamma).map(t -> (int) t.size()).orElse(0);
            return new Norm(vector(gamma, dim), vector(beta, dim), e, shift.outputs().get(0));
        }

        // ---- small helpers ----

        /** Consumers of a value, ignoring Shape nodes (shape bookkeeping is not data flow). */
        private List<Node> users(String value) {
            return consumers.getOrDefault(value, List.of()).stream().filter(n -> !n.opType().equals("Shape")).toList();
        }

        private Node single(String value, String op) {
            List<Node> of = users(value).stream().filter(n -> n.opType().equals(op)).toList();
            if (of.size() != 1) throw fail("expected one " + op + " reading " + value + ", found " + of.size());
            return of.get(0);
        }

        private Node producer(String value, String op) {
            Node n = producers.get(value);
            if (n == null || !n.opType().equals(op)) throw fail("expected " + value + " to come from " + op);
            return n;
        }

        /** The input of a binary node that is not {@code value}. */
        private static String other(Node n, String value) {
            return n.inputs().get(0).equals(value) ? n.inputs().get(1) : n.inputs().get(0);
        }

        /** A constant float vector of length {@code n}, or null if {@code value} is not one. */
        private float[] vector(String value, int n) {
            return model.constant(value).filter(t -> t instanceof Initializer.Floats && t.size() == n && n > 0)
                    .map(t -> ((Initializer.Floats) t).data()).orElse(null);
        }

        private long rows(Node gather) {
            return model.initializers().get(gather.inputs().get(0)).dims()[0];
        }

        private Initializer.Floats table(Node gather) {
            return (Initializer.Floats) model.initializers().get(gather.inputs().get(0));
        }

        private void put(String name, Initializer.Floats t) {
            tensors.put(name, t.data());
            shapes.put(name, new int[] {(int) t.dims()[0], (int) t.dims()[1]});
        }

        private void put(String name, Dense d) {
            tensors.put(name + ".weight", d.weight());
            shapes.put(name + ".weight", new int[] {d.out(), d.in()});
            if (d.bias() != null) put(name + ".bias", d.bias(), d.out());
        }

        private void put(String name, float[] v, int n) {
            if (v == null) throw fail(name + " is not a constant vector");
            tensors.put(name, v);
            shapes.put(name, new int[] {n});
        }

        private ModelFormatException fail(String problem) {
            return new ModelFormatException(model.source(), "not a supported BERT graph: " + problem);
        }
    }

    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }
}
