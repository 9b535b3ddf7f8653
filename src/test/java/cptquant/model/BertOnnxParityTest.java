package cptquant.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import cptquant.TestData;
import cptquant.bench.OrtEncoder;
import cptquant.tokenize.HfTokenizer;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** Our pure-Java MiniLM against ONNX Runtime running the same ONNX file, on real IMDB reviews. */
class BertOnnxParityTest {
    private static final int REVIEWS = 64, BATCH = 8;

    @Test
    void tokenStatesAndPooledEmbeddingsMatchOnnxRuntime() throws Exception {
        Path imdb = TestData.require("data/imdb/test.jsonl.gz");
        List<int[]> seqs = reviews(imdb);
        BertModel model = BertModel.minilm();
        byte[] onnx;
        try (InputStream in = BertModel.class.getResourceAsStream(BertModel.MINILM_RESOURCE)) {
            onnx = in.readAllBytes();
        }
        double maxAbs = 0, minCos = 1;
        int tokens = 0;
        try (OrtEncoder ort = new OrtEncoder(onnx, 1)) {
            for (int start = 0; start < seqs.size(); start += BATCH) {
                int[][] batch = seqs.subList(start, Math.min(seqs.size(), start + BATCH)).toArray(int[][]::new);
                Encoder.Output ours = model.encode(batch);
                float[] ref = ort.run(batch, ours.seq());
                Encoder.Output theirs = new Encoder.Output(ref, ours.batch(), ours.seq(), 384, ours.lengths());
                for (int b = 0; b < batch.length; b++) {
                    for (int t = 0; t < batch[b].length; t++, tokens++) {
                        int o = (b * ours.seq() + t) * 384;
                        for (int j = 0; j < 384; j++) maxAbs = Math.max(maxAbs, Math.abs(ours.hidden()[o + j] - ref[o + j]));
                    }
                }
                float[] p = ours.meanPool(), q = theirs.meanPool();
                for (int b = 0; b < batch.length; b++) minCos = Math.min(minCos, cosine(p, q, b * 384, 384));
            }
        }
        System.out.printf("MiniLM vs ONNX Runtime on %d IMDB reviews (%d tokens): max |diff| %.3g, min pooled cosine 1 - %.3g%n",
                seqs.size(), tokens, maxAbs, 1 - minCos);
        assertTrue(maxAbs <= 1e-4, "max abs token-state difference " + maxAbs);
        assertTrue(minCos >= 0.99999, "min mean-pooled cosine " + minCos);
    }

    /**
     * The first reviews of the test split, tokenized with a cap rising evenly from 8 to 128 tokens (most
     * reviews are longer than their cap), sorted by length so each batch mixes nearby lengths.
     */
    private static List<int[]> reviews(Path imdb) throws Exception {
        HfTokenizer tok = HfTokenizer.minilm();
        ObjectMapper json = new ObjectMapper();
        List<int[]> seqs = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(imdb)), StandardCharsets.UTF_8))) {
            for (int i = 0; i < REVIEWS; i++) {
                String text = json.readTree(r.readLine()).get("text").asText();
                seqs.add(tok.encode(text, 8 + i * 120 / (REVIEWS - 1)));
            }
        }
        seqs.sort(Comparator.comparingInt(s -> s.length));
        assertEquals(REVIEWS, seqs.size());
        return seqs;
    }

    private static double cosine(float[] a, float[] b, int off, int n) {
        double dot = 0, na = 0, nb = 0;
        for (int i = off; i < off + n; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
