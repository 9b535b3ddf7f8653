package cptquant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.io.JsonOut;
import cptquant.model.Block;
import cptquant.model.BlockObserver;
import cptquant.model.Encoder;
import cptquant.progress.Progress;
import cptquant.tokenize.Tokenizer;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImdbTest {
    private static final Imdb.Settings SETTINGS = new Imdb.Settings(60, 16, 8, 1, List.of(0.1, 1.0, 10.0));

    /** Word ids: "good" 1, "bad" 2, any other word 3; [CLS]-like 0 in front. */
    private static final Tokenizer WORDS = new Tokenizer() {
        @Override
        public int[] encode(String text, int maxTokens) {
            int[] plain = encodePlain(text);
            int[] out = new int[Math.min(maxTokens, plain.length + 1)];
            System.arraycopy(plain, 0, out, 1, out.length - 1);
            return out;
        }

        @Override
        public int[] encodePlain(String text) {
            return Arrays.stream(text.split(" ")).mapToInt(w -> w.equals("good") ? 1 : w.equals("bad") ? 2 : 3).toArray();
        }

        @Override public String decode(int[] ids) { return ""; }
        @Override public int vocabSize() { return 4; }
    };

    /** Hidden state of a token: one-hot of its id over 4 features, so mean pooling gives word frequencies. */
    private static final class BagOfWords implements Encoder {
        final List<int[]> batchLengths = new ArrayList<>();
        final boolean ownHead;
        final float[] embeddingTable;

        BagOfWords(boolean ownHead, float scale) {
            this.ownHead = ownHead;
            this.embeddingTable = new float[] {scale};
        }

        @Override
        public Output encode(int[][] ids, BlockObserver observer) {
            int seq = Stream.of(ids).mapToInt(a -> a.length).max().orElse(0);
            int[] lengths = Stream.of(ids).mapToInt(a -> a.length).toArray();
            batchLengths.add(lengths);
            float[] hidden = new float[ids.length * seq * 4];
            for (int b = 0; b < ids.length; b++) {
                for (int t = 0; t < ids[b].length; t++) hidden[(b * seq + t) * 4 + ids[b][t]] = embeddingTable[0];
            }
            return new Output(hidden, ids.length, seq, 4, lengths);
        }

        @Override
        public Optional<float[]> classify(int[][] ids) {
            if (!ownHead) return Optional.empty();
            float[] logits = new float[ids.length * 2];
            for (int b = 0; b < ids.length; b++) logits[b * 2 + 1] = 1; // always "positive"
            return Optional.of(logits);
        }

        @Override public int maxPositions() { return 512; }
        @Override public String architecture() { return "bow"; }
        @Override public List<Block> blocks() { return List.of(); }
        @Override public int hiddenSize() { return 4; }
        @Override public Map<String, float[]> otherParameters() { return Map.of("scale", embeddingTable); }
    }

    /** Positive reviews mostly say "good", negative ones "bad", with filler words of random length. */
    private static List<ImdbReviews.Review> reviews(int n, long seed) {
        Random rnd = new Random(seed);
        List<ImdbReviews.Review> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int label = i % 2;
            StringBuilder text = new StringBuilder("movie");
            int words = 2 + rnd.nextInt(30);
            for (int w = 0; w < words; w++) {
                boolean onTopic = rnd.nextDouble() < 0.3;
                boolean flip = rnd.nextDouble() < 0.2;
                text.append(' ').append(!onTopic ? "plot" : (label == 1) != flip ? "good" : "bad");
            }
            out.add(new ImdbReviews.Review("r" + i, label, text.toString()));
        }
        return out;
    }

    private static Path writeReviews(Path file, List<ImdbReviews.Review> reviews) throws Exception {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            for (var r : reviews) {
                out.write(JsonOut.MAPPER.writer().writeValueAsString(r).getBytes(StandardCharsets.UTF_8));
                out.write('\n');
            }
        }
        return file;
    }

    @Test
    void fittedHeadLearnsTheSignalAndIsCached(@TempDir Path dir) throws Exception {
        Path train = writeReviews(dir.resolve("train.jsonl.gz"), reviews(200, 1));
        Path cache = dir.resolve("cache");
        var encoder = new BagOfWords(false, 1f);
        ClassifierHead head = Imdb.head(encoder, WORDS, train, SETTINGS, cache, Progress.NONE);
        int fitBatches = encoder.batchLengths.size();
        assertEquals(60 / 8 + 1, fitBatches, "60 train reviews in batches of 8");

        var result = Imdb.evaluate(encoder, WORDS, head, reviews(400, 2), SETTINGS, Progress.NONE);
        assertTrue(result.accuracy() > 0.85, "accuracy " + result.accuracy());
        assertEquals(400, result.total());
        assertEquals("logistic head", result.classifier());

        ClassifierHead again = Imdb.head(encoder, WORDS, train, SETTINGS, cache, Progress.NONE);
        assertEquals(fitBatches + 400 / 8, encoder.batchLengths.size(), "second head comes from the cache");
        assertTrue(Arrays.deepEquals(head.weights(), again.weights()));
        try (var files = Files.list(cache)) {
            assertEquals(1, files.count());
        }
        Imdb.head(new BagOfWords(false, 2f), WORDS, train, SETTINGS, cache, Progress.NONE);
        try (var files = Files.list(cache)) {
            assertEquals(2, files.count(), "different weights, different cache entry");
        }
    }

    @Test
    void batchesFollowLengthAndPredictionsKeepReviewOrder(@TempDir Path dir) throws Exception {
        var encoder = new BagOfWords(false, 1f);
        ClassifierHead head = Imdb.head(encoder, WORDS, writeReviews(dir.resolve("t.gz"), reviews(100, 3)), SETTINGS,
                dir, Progress.NONE);
        encoder.batchLengths.clear();
        List<ImdbReviews.Review> test = reviews(50, 4);
        List<Long> progress = new ArrayList<>();
        var result = Imdb.evaluate(encoder, WORDS, head, test, SETTINGS, (done, tps) -> progress.add(done));
        int previousMax = 0;
        for (int[] lengths : encoder.batchLengths) {
            assertTrue(Arrays.stream(lengths).min().orElseThrow() >= previousMax);
            previousMax = Arrays.stream(lengths).max().orElseThrow();
            assertTrue(previousMax <= SETTINGS.maxTokens());
        }
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L), progress);
        // The same reviews one at a time, in file order, must score the same.
        int correct = 0;
        for (var r : test) {
            float[] pooled = encoder.encode(new int[][] {WORDS.encode(r.text(), SETTINGS.maxTokens())}).meanPool();
            if (head.predict(pooled, 1)[0] == r.label()) correct++;
        }
        assertEquals(correct, result.correct());
    }

    @Test
    void encoderWithItsOwnHeadUsesIt() {
        var result = Imdb.evaluate(new BagOfWords(true, 1f), WORDS, null, reviews(40, 5), SETTINGS, Progress.NONE);
        assertEquals("own head", result.classifier());
        assertEquals(0.5, result.accuracy(), "the fake head always says positive");
        assertThrows(IllegalArgumentException.class,
                () -> Imdb.evaluate(new BagOfWords(false, 1f), WORDS, null, reviews(4, 5), SETTINGS, Progress.NONE));
    }

    @Test
    void fingerprintFollowsWeights() {
        assertEquals(Imdb.fingerprint(new BagOfWords(false, 1f)), Imdb.fingerprint(new BagOfWords(true, 1f)));
        assertNotEquals(Imdb.fingerprint(new BagOfWords(false, 1f)), Imdb.fingerprint(new BagOfWords(false, 3f)));
        // A saved quantized copy keeps non-block parameters at FP16: it must find the FP32 model's head.
        float x = 1.2345678f, x16 = Float.float16ToFloat(Float.floatToFloat16(x));
        assertNotEquals(x, x16);
        assertEquals(Imdb.fingerprint(new BagOfWords(false, x)), Imdb.fingerprint(new BagOfWords(false, x16)));
    }
}
