package cptquant.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.TestData;
import cptquant.quant.QuantSpec;
import cptquant.quant.Quantizer;
import cptquant.tensor.Linear;
import cptquant.tensor.PackedWeight;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaModelTest {
    static final String STORIES = "models/stories260K/stories260K.bin";
    /** BOS + "Once upon a time" + some of the model's own continuation: a realistic 40-token sequence. */
    static final String TEXT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

    @Test
    void loadsWithItsTokenizerAndNamesBlocksLikeMeta() {
        LoadedModel.Causal loaded = LlamaModel.load(TestData.require(STORIES));
        assertEquals("stories260K", loaded.name());
        CausalLM m = loaded.model();
        assertEquals("llama", m.architecture());
        assertEquals(5, m.blocks().size());
        assertEquals(List.of("layers.4.attention.wq", "layers.4.attention.wk", "layers.4.attention.wv",
                "layers.4.attention.wo", "layers.4.feed_forward.w1", "layers.4.feed_forward.w2",
                "layers.4.feed_forward.w3"), m.blocks().get(4).linears().stream().map(Linear::name).toList());
        assertEquals("layers.4", m.blocks().get(4).name());
        assertEquals(32, m.blocks().get(0).linears().get(1).weight().outFeatures(), "wk is kv_dim = 4 heads x 8");
        assertTrue(m.otherParameters().containsKey("tok_embeddings"));
        assertEquals(64, m.otherParameters().get("norm").length);
    }

    @Test
    void logitsMatchAnIndependentDoublePrecisionForward() throws IOException {
        Path bin = TestData.require(STORIES);
        LoadedModel.Causal loaded = LlamaModel.load(bin);
        int[] tokens = loaded.tokenizer().encode(TEXT, 512);
        float[] logits = loaded.model().logits(tokens);
        double[][] ref = new DoubleLlama(bin).forward(tokens);
        int vocab = loaded.model().vocabSize();
        double maxDiff = 0;
        for (int t = 0; t < tokens.length; t++) {
            for (int j = 0; j < vocab; j++) maxDiff = Math.max(maxDiff, Math.abs(logits[t * vocab + j] - ref[t][j]));
        }
        assertTrue(maxDiff <= 1e-4, "max |logit - double reference| = " + maxDiff);
    }

    @Test
    void sessionDecodingEqualsFullSequenceLogits() {
        LoadedModel.Causal loaded = LlamaModel.load(TestData.require(STORIES));
        assertSessionMatchesFull(loaded.model(), loaded.tokenizer().encode(TEXT, 512));
    }

    @Test
    void observerSeesEveryBlockInOrderWithChainedStates() {
        CausalLM m = LlamaModel.load(TestData.require(STORIES)).model();
        int[] tokens = {1, 403, 407, 261, 378};
        List<float[]> outs = new ArrayList<>();
        List<Integer> order = new ArrayList<>();
        m.logits(tokens, (b, in, out, rows, dim, valid) -> {
            assertEquals(5, rows);
            assertEquals(64, dim);
            if (b > 0) assertArrayEquals(outs.getLast(), in, "block input is the previous block's output");
            order.add(b);
            outs.add(out.clone());
        });
        assertEquals(List.of(0, 1, 2, 3, 4), order);
    }

    @Test
    void packedWeightsAreUsedInBothPaths() {
        CausalLM m = LlamaModel.load(TestData.require(STORIES)).model();
        int[] tokens = {1, 403, 407, 261, 378};
        float[] dense = m.logits(tokens);
        for (Block b : m.blocks()) {
            for (Linear l : b.linears()) l.setWeight(Quantizer.quantize(l.weight(), new QuantSpec.Int(8, 0, false)));
        }
        assertTrue(m.blocks().getFirst().linears().getFirst().weight() instanceof PackedWeight);
        float[] packed = m.logits(tokens);
        double maxDiff = 0;
        for (int i = 0; i < dense.length; i++) maxDiff = Math.max(maxDiff, Math.abs(dense[i] - packed[i]));
        assertTrue(maxDiff > 0 && maxDiff < 0.5, "int8 logits differ from f32 by " + maxDiff);
        assertSessionMatchesFull(m, tokens);
    }

    @Test
    void untiedClassifierIsReadAfterTheRotaryTables(@TempDir Path tmp) throws IOException {
        Path bin = TestData.require(STORIES);
        // The same model with an untied classifier of twice the embedding: every logit doubles, to float
        // rounding relative to the logits' scale (the two runs may be compiled differently, which moves the
        // last bits of sums that cancel).
        ByteBuffer src = ByteBuffer.wrap(Files.readAllBytes(bin)).order(ByteOrder.LITTLE_ENDIAN);
        int embFloats = 512 * 64;
        ByteBuffer out = ByteBuffer.allocate(src.capacity() + embFloats * 4).order(ByteOrder.LITTLE_ENDIAN);
        out.put(src.duplicate());
        out.putInt(5 * 4, -512);
        for (int i = 0; i < embFloats; i++) out.putFloat(2 * src.getFloat(28 + 4 * i));
        Path untied = tmp.resolve("untied.bin");
        Files.write(untied, out.array());
        int[] tokens = {1, 403, 407, 261, 378};
        float[] tied = LlamaModel.of(cptquant.io.Llama2cCheckpoint.open(bin)).logits(tokens);
        LlamaModel model = LlamaModel.of(cptquant.io.Llama2cCheckpoint.open(untied));
        float[] doubled = model.logits(tokens);
        float scale = 0;
        for (float v : doubled) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < tied.length; i++) assertEquals(2 * tied[i], doubled[i], 1e-5f * scale);
        assertEquals(embFloats, model.otherParameters().get("output").length);
    }

    @Test
    void rejectsSequencesOutsideTheModel() {
        CausalLM m = LlamaModel.load(TestData.require(STORIES)).model();
        assertThrows(IllegalArgumentException.class, () -> m.logits(new int[0]));
        assertThrows(IllegalArgumentException.class, () -> m.logits(new int[513]));
        assertThrows(IllegalArgumentException.class, () -> m.logits(new int[] {1, 512}));
        DecodingSession s = m.startSession();
        for (int i = 0; i < 512; i++) s.next(1);
        assertEquals(512, s.position());
        assertThrows(IllegalStateException.class, () -> s.next(1));
    }

    private static void assertSessionMatchesFull(CausalLM m, int[] tokens) {
        float[] full = m.logits(tokens);
        DecodingSession s = m.startSession();
        int vocab = m.vocabSize();
        for (int t = 0; t < tokens.length; t++) {
            assertEquals(t, s.position());
            float[] step = s.next(tokens[t]);
            for (int j = 0; j < vocab; j++) {
                // Not bit-exact: packed kernels reduce vector lanes in an order that may change once JIT-compiled.
                assertEquals(full[t * vocab + j], step[j], 1e-4, "position " + t + " logit " + j);
            }
        }
    }

    /**
     * llama2.c's forward pass transcribed in double precision, token by token with its own key/value
     * cache, reading the checkpoint with a plain ByteBuffer: shares no code with the model under test.
     */
    static final class DoubleLlama {
        final int dim, hidden, layers, heads, kvHeads, vocab, seq, headDim, kvDim;
        final double[][] emb, rmsFinal;
        final double[][][] rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3;

        DoubleLlama(Path bin) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(bin)).order(ByteOrder.LITTLE_ENDIAN);
            dim = b.getInt(); hidden = b.getInt(); layers = b.getInt(); heads = b.getInt();
            kvHeads = b.getInt(); vocab = Math.abs(b.getInt()); seq = b.getInt();
            headDim = dim / heads;
            kvDim = kvHeads * headDim;
            emb = matrix(b, vocab, dim);
            rmsAtt = stack(b, 1, dim); wq = stack(b, dim, dim); wk = stack(b, kvDim, dim); wv = stack(b, kvDim, dim);
            wo = stack(b, dim, dim); rmsFfn = stack(b, 1, dim);
            w1 = stack(b, hidden, dim); w2 = stack(b, dim, hidden); w3 = stack(b, hidden, dim);
            rmsFinal = matrix(b, 1, dim);
        }

        double[][][] stack(ByteBuffer b, int rows, int cols) {
            double[][][] s = new double[layers][][];
            for (int l = 0; l < layers; l++) s[l] = matrix(b, rows, cols);
            return s;
        }

        static double[][] matrix(ByteBuffer b, int rows, int cols) {
            double[][] m = new double[rows][cols];
            for (double[] r : m) for (int j = 0; j < cols; j++) r[j] = b.getFloat();
            return m;
        }

        double[][] forward(int[] tokens) {
            double[][][] kc = new double[layers][tokens.length][], vc = new double[layers][tokens.length][];
            double[][] out = new double[tokens.length][];
            for (int pos = 0; pos < tokens.length; pos++) {
                double[] x = emb[tokens[pos]].clone();
                for (int l = 0; l < layers; l++) {
                    double[] xb = rms(x, rmsAtt[l][0]);
                    double[] q = mul(wq[l], xb), k = mul(wk[l], xb), v = mul(wv[l], xb);
                    rope(q, pos);
                    rope(k, pos);
                    kc[l][pos] = k;
                    vc[l][pos] = v;
                    double[] att = new double[dim];
                    for (int h = 0; h < heads; h++) {
                        int kh = h / (heads / kvHeads);
                        double[] w = new double[pos + 1];
                        double max = Double.NEGATIVE_INFINITY, sum = 0;
                        for (int t = 0; t <= pos; t++) {
                            for (int d = 0; d < headDim; d++) w[t] += q[h * headDim + d] * kc[l][t][kh * headDim + d];
                            w[t] /= Math.sqrt(headDim);
                            max = Math.max(max, w[t]);
                        }
                        for (int t = 0; t <= pos; t++) { w[t] = Math.exp(w[t] - max); sum += w[t]; }
                        for (int t = 0; t <= pos; t++) {
                            for (int d = 0; d < headDim; d++) att[h * headDim + d] += w[t] / sum * vc[l][t][kh * headDim + d];
                        }
                    }
                    add(x, mul(wo[l], att));
                    xb = rms(x, rmsFfn[l][0]);
                    double[] g = mul(w1[l], xb), u = mul(w3[l], xb);
                    for (int i = 0; i < hidden; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                    add(x, mul(w2[l], g));
                }
                out[pos] = mul(emb, rms(x, rmsFinal[0]));
            }
            return out;
        }

        void rope(double[] v, int pos) {
            for (int i = 0; i < v.length; i += 2) {
                double angle = pos / Math.pow(10000, (double) (i % headDim) / headDim);
                double a = v[i], b = v[i + 1];
                v[i] = a * Math.cos(angle) - b * Math.sin(angle);
                v[i + 1] = a * Math.sin(angle) + b * Math.cos(angle);
            }
        }

        static double[] rms(double[] x, double[] w) {
            double ss = 0;
            for (double v : x) ss += v * v;
            double inv = 1 / Math.sqrt(ss / x.length + 1e-5);
            double[] o = new double[x.length];
            for (int i = 0; i < x.length; i++) o[i] = x[i] * inv * w[i];
            return o;
        }

        static double[] mul(double[][] w, double[] x) {
            double[] y = new double[w.length];
            for (int i = 0; i < w.length; i++) for (int j = 0; j < x.length; j++) y[i] += w[i][j] * x[j];
            return y;
        }

        static void add(double[] a, double[] b) {
            for (int i = 0; i < a.length; i++) a[i] += b[i];
        }
    }
}
