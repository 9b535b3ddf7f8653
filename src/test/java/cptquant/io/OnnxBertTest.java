package cptquant.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OnnxBertTest {
    private static OnnxModel onnx;
    private static OnnxBert.Checkpoint ckpt;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = OnnxBertTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            onnx = OnnxModel.parse(in.readAllBytes(), Path.of("minilm.onnx"));
        }
        ckpt = OnnxBert.extract(onnx);
    }

    @Test
    void findsMiniLmArchitectureFromTheGraph() {
        assertEquals(6, ckpt.numLayers());
        assertEquals(12, ckpt.numHeads());
        assertEquals(1e-12f, ckpt.eps());
        Map<String, int[]> s = ckpt.shapes();
        assertArrayEquals(new int[] {30522, 384}, s.get("embeddings.word_embeddings.weight"));
        assertArrayEquals(new int[] {512, 384}, s.get("embeddings.position_embeddings.weight"));
        assertArrayEquals(new int[] {2, 384}, s.get("embeddings.token_type_embeddings.weight"));
        assertArrayEquals(new int[] {1536, 384}, s.get("encoder.layer.3.intermediate.dense.weight"));
        assertArrayEquals(new int[] {384, 1536}, s.get("encoder.layer.3.output.dense.weight"));
        assertArrayEquals(new int[] {384, 384}, s.get("pooler.dense.weight"));
        // 5 embedding tensors, 16 per layer, pooler weight and bias; MiniLM has no classifier
        assertEquals(5 + 6 * 16 + 2, ckpt.tensors().size());
        for (var e : ckpt.tensors().entrySet()) {
            int n = 1;
            for (int d : s.get(e.getKey())) n *= d;
            assertEquals(n, e.getValue().length, e.getKey());
        }
    }

    /**
     * The exporter kept Hugging Face names for biases, norms and embeddings (only MatMul weights were
     * renamed), so those names are an independent check that the structural walk put each tensor in
     * the right place.
     */
    @Test
    void structuralMappingAgreesWithTheNamesTheExporterKept() {
        int checked = 0;
        for (var e : ckpt.tensors().entrySet()) {
            if (onnx.initializers().get(e.getKey()) instanceof OnnxModel.Initializer.Floats f) {
                assertArrayEquals(f.data(), e.getValue(), e.getKey());
                checked++;
            }
        }
        assertEquals(5 + 6 * 10 + 2, checked, "embeddings, per-layer biases and norms, pooler");
    }

    @Test
    void linearWeightsAreTransposedToOutByIn() {
        // pooler is a Gemm with transB=1 (already [out, in]); the query MatMul stores [in, out]
        var pooler = (OnnxModel.Initializer.Floats) onnx.initializers().get("pooler.dense.weight");
        assertArrayEquals(pooler.data(), ckpt.tensors().get("pooler.dense.weight"));
        OnnxModel.Node q = onnx.nodes().stream()
                .filter(n -> n.opType().equals("MatMul") && n.outputs().get(0).contains("layer.0/attention/self/query"))
                .findFirst().orElseThrow();
        float[] stored = ((OnnxModel.Initializer.Floats) onnx.initializers().get(q.inputs().get(1))).data();
        float[] mapped = ckpt.tensors().get("encoder.layer.0.attention.self.query.weight");
        for (int o = 0; o < 384; o += 37) for (int i = 0; i < 384; i += 41) assertEquals(stored[i * 384 + o], mapped[o * 384 + i]);
    }

    @Test
    void graphsOfAnotherShapeAreRejected() {
        OnnxModel notBert = new OnnxModel(Path.of("x.onnx"), List.of(), Map.of(), List.of("input_ids"), List.of("y"));
        String msg = assertThrows(ModelFormatException.class, () -> OnnxBert.extract(notBert)).getMessage();
        assertTrue(msg.startsWith("x.onnx: not a supported BERT graph"), msg);
    }
}
