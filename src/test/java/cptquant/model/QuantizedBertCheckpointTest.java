package cptquant.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.io.QuantizedCheckpoint;
import cptquant.quant.ModelQuantizer;
import cptquant.quant.QuantSpec;
import cptquant.tensor.DType;
import cptquant.tensor.PackedWeight;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuantizedBertCheckpointTest {
    @TempDir Path tmp;

    private static float[] embed(LoadedModel m, int[][] ids) {
        return ((LoadedModel.Encoding) m).model().encode(ids).meanPool();
    }

    @Test
    void minilmWithAMixedPlanRoundTrips() {
        LoadedModel minilm = Models.load("minilm");
        Map<String, QuantSpec> units = new LinkedHashMap<>();
        units.put("layers.0", new QuantSpec.Int(4, 32, false));
        units.put("layers.1", new QuantSpec.Int(8, 0, true));
        units.put("layers.2", new QuantSpec.Half(DType.F16));
        units.put("layers.3.output", new QuantSpec.Int(4, 128, false));
        ModelQuantizer.apply(minilm.model(), units);
        int[][] ids = {minilm.tokenizer().encode("a saved quantized encoder", 32), minilm.tokenizer().encode("short", 32)};
        float[] inMemory = embed(minilm, ids);

        Path first = tmp.resolve("first"), second = tmp.resolve("second");
        QuantizedCheckpoint.write(minilm, null, first);
        LoadedModel loaded = Models.load(first.toString());
        assertInstanceOf(PackedWeight.class, loaded.model().blocks().get(0).linears().get(0).weight());
        assertEquals("int4-g128", loaded.model().blocks().get(3).linears().get(5).weight().format());
        assertEquals("f16", loaded.model().blocks().get(2).linears().get(0).weight().format());
        assertEquals("f32", loaded.model().blocks().get(4).linears().get(0).weight().format());
        float[] fromFile = embed(loaded, ids);
        // Only embeddings, norms and biases differ: they were F32 in memory and are F16 in the file.
        assertEquals(inMemory.length, fromFile.length);
        assertTrue(cosine(inMemory, fromFile) > 0.9999, "cosine " + cosine(inMemory, fromFile));

        // Once everything is at its stored precision, saving and loading again changes nothing (up to kernel rounding).
        QuantizedCheckpoint.write(loaded, null, second);
        assertArrayEquals(fromFile, embed(Models.load(second.toString()), ids), 1e-5f * QuantizedCheckpointTest.maxAbs(fromFile));
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
