package cptquant.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import cptquant.TestData;
import cptquant.model.CausalLM;
import cptquant.model.DecodingSession;
import cptquant.model.Encoder;
import cptquant.model.LoadedModel;
import cptquant.model.Models;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cptquant's GGUF exports run in llama.cpp itself (tools/llama-check): it tokenizes like cptquant and
 * computes the same model, so a wrong name, layout or metadata key that llama.cpp reads differently fails.
 */
class GgufLlamaCppTest {
    @TempDir Path dir;

    private Path export(LoadedModel loaded, String file) {
        GgufModels.Export e = GgufModels.of(loaded, Map.of());
        Path out = dir.resolve(file);
        GgufExport.write(out, e.metadata(), e.tensors());
        return out;
    }

    @Test
    void storiesAtF16DecodesGreedilyToTheSameTokensAsCptquant() throws Exception {
        LoadedModel loaded = Models.load(TestData.require("models/stories260K/stories260K.bin").toString());
        String prompt = "Once upon a time";
        int steps = 40;
        JsonNode seen = NodeCheck.LLAMA_CPP.run(dir, "generate", export(loaded, "stories.gguf").toString(), prompt, String.valueOf(steps));

        int[] ids = loaded.tokenizer().encode(prompt, 512);
        assertArrayEquals(ids, ints(seen.get("prompt")), "llama.cpp tokenizes the prompt as cptquant does");
        DecodingSession session = ((CausalLM) loaded.model()).startSession();
        float[] logits = null;
        for (int id : ids) logits = session.next(id);
        int[] greedy = new int[steps];
        for (int i = 0; i < steps; i++) {
            greedy[i] = argmax(logits);
            logits = session.next(greedy[i]);
        }
        assertArrayEquals(greedy, ints(seen.get("generated")),
                "cptquant: " + loaded.tokenizer().decode(greedy) + "\nllama.cpp: " + loaded.tokenizer().decode(ints(seen.get("generated"))));
    }

    @Test
    void miniLmEmbeddingsInLlamaCppMatchCptquantsMeanPooling() throws Exception {
        LoadedModel loaded = Models.load("minilm");
        String[] texts = {"The movie was wonderful.", "A terrible, boring film that I would not watch again."};
        JsonNode seen = NodeCheck.LLAMA_CPP.run(dir, "embed", export(loaded, "minilm.gguf").toString(), texts[0], texts[1]);
        assertEquals(texts.length, seen.size());
        for (int t = 0; t < texts.length; t++) {
            JsonNode s = seen.get(t);
            assertArrayEquals(loaded.tokenizer().encodePlain(texts[t]), ints(s.get("tokens")), texts[t]);
            float[] ours = ((Encoder) loaded.model()).encode(new int[][] {loaded.tokenizer().encode(texts[t], 128)}).meanPool();
            double dot = 0, a = 0, b = 0;
            for (int i = 0; i < ours.length; i++) {
                double x = s.get("vector").get(i).asDouble();
                dot += x * ours[i];
                a += x * x;
                b += ours[i] * (double) ours[i];
            }
            double cosine = dot / Math.sqrt(a * b);
            assertTrue(cosine > 0.9999, texts[t] + ": cosine " + cosine + " (F16 weights against cptquant's FP32)");
        }
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
