package cptquant.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.io.OnnxBert;
import cptquant.io.OnnxModel;
import cptquant.tensor.DenseWeight;
import cptquant.tensor.Linear;
import cptquant.tokenize.HfTokenizer;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Contracts of the encoder on short real sentences (parity with ONNX Runtime is BertOnnxParityTest). */
class BertModelTest {
    private static OnnxBert.Checkpoint ckpt;
    private static int[][] sentences;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = BertModel.class.getResourceAsStream(BertModel.MINILM_RESOURCE)) {
            ckpt = OnnxBert.extract(OnnxModel.parse(in.readAllBytes(), Path.of("minilm.onnx")));
        }
        HfTokenizer tok = HfTokenizer.minilm();
        sentences = new int[][] {
                tok.encode("A quiet, beautifully shot film about grief.", 64),
                tok.encode("Terrible.", 64),
                tok.encode("The plot made no sense and the acting was wooden throughout.", 64)};
    }

    private static BertModel minilm() {
        return new BertModel(ckpt.tensors(), ckpt.numHeads(), ckpt.eps());
    }

    @Test
    void exposesSixBlocksOfSixNamedLinears() {
        BertModel m = minilm();
        assertEquals("bert", m.architecture());
        assertEquals(384, m.hiddenSize());
        assertEquals(512, m.maxPositions());
        assertEquals(6, m.blocks().size());
        Block b = m.blocks().get(2);
        assertEquals("layers.2", b.name());
        assertEquals(List.of("layers.2.attention.query", "layers.2.attention.key", "layers.2.attention.value",
                        "layers.2.attention.output", "layers.2.intermediate", "layers.2.output"),
                b.linears().stream().map(Linear::name).toList());
        assertEquals(1536, b.linears().get(4).out());
        assertEquals(1536, b.linears().get(5).in());
        Map<String, float[]> others = m.otherParameters();
        // Block linear weights and biases belong to their Linear (size accounting counts them there).
        assertFalse(others.containsKey("encoder.layer.2.attention.self.query.bias"));
        assertTrue(others.containsKey("embeddings.word_embeddings.weight"));
        assertFalse(others.containsKey("encoder.layer.2.attention.self.query.weight"));
        assertEquals(ckpt.tensors().size() - 72, others.size());
    }

    @Test
    void paddingInABatchDoesNotChangeAnySequence() {
        BertModel m = minilm();
        List<boolean[]> masks = new ArrayList<>();
        Encoder.Output batch = m.encode(sentences, (block, in, out, rows, dim, valid) -> masks.add(valid));
        assertEquals(6, masks.size());
        int seq = batch.seq();
        assertEquals(sentences[2].length, seq);
        for (int b = 0; b < 3; b++) {
            for (int t = 0; t < seq; t++) assertEquals(t < sentences[b].length, masks.get(0)[b * seq + t]);
            Encoder.Output alone = m.encode(new int[][] {sentences[b]});
            for (int i = 0; i < sentences[b].length * 384; i++) {
                assertEquals(alone.hidden()[i], batch.hidden()[b * seq * 384 + i], 1e-5);
            }
        }
    }

    @Test
    void swappedWeightsAreTheOnesForwardUses() {
        BertModel m = minilm();
        int[][] one = {sentences[1]};
        float[] before = m.encode(one).hidden();
        Linear out = m.blocks().get(5).linears().get(5);
        out.setWeight(DenseWeight.ofFloats(new float[out.out() * out.in()], out.out(), out.in()));
        float[] after = m.encode(one).hidden();
        double diff = 0;
        for (int i = 0; i < before.length; i++) diff = Math.max(diff, Math.abs(before[i] - after[i]));
        assertTrue(diff > 0.1, "zeroing the last output projection must change the states, max diff " + diff);
    }

    @Test
    void classifiesOnlyWithASequenceClassificationHead() {
        assertTrue(minilm().classify(sentences).isEmpty());
        Map<String, float[]> params = new HashMap<>(ckpt.tensors());
        Random r = new Random(3);
        float[] w = new float[2 * 384];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian() * 0.1f;
        params.put("classifier.weight", w);
        params.put("classifier.bias", new float[] {0.25f, -0.5f});
        BertModel m = new BertModel(params, 12, 1e-12f);
        float[] logits = m.classify(sentences).orElseThrow();
        assertEquals(3 * 2, logits.length);
        // expected: tanh(pooler(first token state)) . classifier + bias
        Encoder.Output o = m.encode(sentences);
        float[] pw = params.get("pooler.dense.weight"), pb = params.get("pooler.dense.bias");
        for (int b = 0; b < 3; b++) {
            double[] pooled = new double[384];
            for (int j = 0; j < 384; j++) {
                double s = pb[j];
                for (int i = 0; i < 384; i++) s += pw[j * 384 + i] * o.hidden()[b * o.seq() * 384 + i];
                pooled[j] = Math.tanh(s);
            }
            for (int c = 0; c < 2; c++) {
                double s = params.get("classifier.bias")[c];
                for (int j = 0; j < 384; j++) s += w[c * 384 + j] * pooled[j];
                assertEquals(s, logits[b * 2 + c], 1e-4);
            }
        }
    }

    @Test
    void rejectsInputsOutsideTheModel() {
        BertModel m = minilm();
        assertThrows(IllegalArgumentException.class, () -> m.encode(new int[][] {{101, 30522, 102}}));
        assertThrows(IllegalArgumentException.class, () -> m.encode(new int[][] {new int[513]}));
        assertThrows(IllegalArgumentException.class, () -> m.encode(new int[][] {{}}));
        Map<String, float[]> noLayers = new HashMap<>(ckpt.tensors());
        noLayers.keySet().removeIf(k -> k.startsWith("encoder."));
        assertThrows(IllegalArgumentException.class, () -> new BertModel(noLayers, 12, 1e-12f));
        assertThrows(IllegalArgumentException.class, () -> new BertModel(ckpt.tensors(), 7, 1e-12f));
    }
}
