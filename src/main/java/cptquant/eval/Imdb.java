package cptquant.eval;

import cptquant.io.ModelFormatException;
import cptquant.model.Encoder;
import cptquant.progress.Progress;
import cptquant.tokenize.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * Binary sentiment accuracy on IMDB (the paper's encoder task). An encoder with its own sequence-
 * classification head ({@link Encoder#classify}) is scored with it (class 1 = positive, the Hugging Face
 * sentiment convention). Any other encoder, such as a sentence-embedding model, gets a logistic-regression
 * head fitted on its frozen FP32 mean-pooled embeddings of a seeded balanced subset of the train split
 * ({@link Settings#trainLimit}, default 2,000 reviews, which keeps the one-off fit quick on a CPU; raise it
 * for a tighter head). The head is cached on disk and reused unchanged for quantized versions of
 * the encoder, so accuracy differences measure the encoder alone. Reviews are truncated to
 * {@link Settings#maxTokens} tokens (default 128) and batched in order of length to limit padding.
 */
public final class Imdb {
    /** Cross-validation folds for choosing the head's penalty. */
    private static final int FOLDS = 5;

    private Imdb() {}

    /**
     * How the head is fitted and reviews are fed.
     *
     * @param trainLimit train reviews for the logistic head (balanced, seeded)
     * @param maxTokens  tokens per review, special tokens included
     * @param batch      reviews per encoder call
     * @param seed       seed of the balanced train subset
     * @param penalties  L2 penalties tried for the logistic head, the best chosen by 5-fold cross-validation on
     *                   the train subset (one entry: used as is)
     */
    public record Settings(int trainLimit, int maxTokens, int batch, long seed, List<Double> penalties) {
        /**
         * Defaults. Penalties up to 10^4 matter: on all-MiniLM-L6-v2 with 400-800 train reviews the
         * scikit-learn default (1) fits the train set perfectly and scores 66-69% on the test, 1000 scores 73-74%.
         */
        public static final Settings DEFAULTS = new Settings(2000, 128, 32, 20111,
                List.of(1.0, 10.0, 100.0, 1000.0, 10000.0));

        public Settings {
            penalties = List.copyOf(penalties);
            if (trainLimit < 2 * FOLDS || maxTokens < 2 || batch < 1 || penalties.isEmpty()
                    || !penalties.stream().allMatch(l2 -> l2 > 0)) {
                throw new IllegalArgumentException("IMDB settings need train-limit >= " + 2 * FOLDS
                        + ", max tokens >= 2, batch >= 1 and positive penalties");
            }
        }
    }

    /**
     * The outcome of one evaluation.
     *
     * @param classifier "own head" or "logistic head"
     */
    public record Result(double accuracy, int correct, int total, double seconds, String classifier) {}

    /** True if the encoder scores sequences with its own classification head. */
    public static boolean hasOwnHead(Encoder encoder, Tokenizer tokenizer) {
        return encoder.classify(new int[][] {tokenizer.encode("good", 8)}).isPresent();
    }

    /**
     * The logistic head for {@code encoder} (which must be the FP32 original): read from
     * {@code cacheDir} if fitted before for the same weights, train file and settings, else fitted on the
     * mean-pooled embeddings of a balanced subset of {@code trainFile} and saved there.
     */
    public static ClassifierHead head(Encoder encoder, Tokenizer tokenizer, Path trainFile, Settings settings,
                                      Path cacheDir, Progress progress) {
        String key = sha256Hex((fingerprint(encoder) + "|" + fileSha256(trainFile) + "|" + settings)
                .getBytes(StandardCharsets.UTF_8));
        Path cached = cacheDir.resolve("imdb-head-" + key + ".json");
        if (Files.exists(cached)) return ClassifierHead.load(cached);
        List<ImdbReviews.Review> train = ImdbReviews.balancedSubset(ImdbReviews.read(trainFile),
                settings.trainLimit(), settings.seed());
        float[] features = embed(encoder, tokenizer, train, settings, progress);
        int[] labels = train.stream().mapToInt(ImdbReviews.Review::label).toArray();
        int dim = encoder.hiddenSize();
        double l2 = settings.penalties().size() == 1 ? settings.penalties().getFirst()
                : LogisticRegression.choosePenalty(features, train.size(), dim, labels, 2, settings.penalties(), FOLDS);
        ClassifierHead head = new LogisticRegression(l2).fit(features, train.size(), dim, labels, 2);
        head.save(cached);
        return head;
    }

    /** Mean-pooled final hidden states of each review (reviews x hiddenSize, in review order). */
    public static float[] embed(Encoder encoder, Tokenizer tokenizer, List<ImdbReviews.Review> reviews,
                                Settings settings, Progress progress) {
        int h = encoder.hiddenSize();
        float[] out = new float[reviews.size() * h];
        inLengthOrder(tokenizer, reviews, settings, progress, (rows, ids) -> {
            float[] pooled = encoder.encode(ids).meanPool();
            for (int b = 0; b < rows.length; b++) System.arraycopy(pooled, b * h, out, rows[b] * h, h);
        });
        return out;
    }

    /**
     * Accuracy of {@code encoder} on {@code reviews}: with its own head when it has one, else with
     * {@code head} (which may be null only in the first case).
     */
    public static Result evaluate(Encoder encoder, Tokenizer tokenizer, ClassifierHead head,
                                  List<ImdbReviews.Review> reviews, Settings settings, Progress progress) {
        boolean own = hasOwnHead(encoder, tokenizer);
        if (!own && head == null) throw new IllegalArgumentException("the encoder has no classification head; fit one first");
        long t0 = System.nanoTime();
        int[] predicted = new int[reviews.size()];
        inLengthOrder(tokenizer, reviews, settings, progress, (rows, ids) -> {
            int[] p = own ? argmax(encoder.classify(ids).orElseThrow(), rows.length)
                    : head.predict(encoder.encode(ids).meanPool(), rows.length);
            for (int b = 0; b < rows.length; b++) predicted[rows[b]] = p[b];
        });
        double seconds = (System.nanoTime() - t0) / 1e9;
        int correct = 0;
        for (int i = 0; i < predicted.length; i++) if (predicted[i] == reviews.get(i).label()) correct++;
        return new Result((double) correct / reviews.size(), correct, reviews.size(), seconds,
                own ? "own head" : "logistic head");
    }

    private static int[] argmax(float[] logits, int rows) {
        double[] d = new double[logits.length];
        for (int i = 0; i < d.length; i++) d[i] = logits[i];
        return ClassifierHead.argmax(d, rows, logits.length / rows);
    }

    /** Receives one batch: the review indices and their token ids. */
    @FunctionalInterface
    private interface BatchConsumer {
        void accept(int[] rows, int[][] ids);
    }

    /** Tokenizes every review, then feeds batches of similar length (shortest first) to {@code consumer}. */
    private static void inLengthOrder(Tokenizer tokenizer, List<ImdbReviews.Review> reviews, Settings settings,
                                      Progress progress, BatchConsumer consumer) {
        if (reviews.isEmpty()) throw new IllegalArgumentException("no reviews to evaluate");
        int[][] ids = reviews.stream().map(r -> tokenizer.encode(r.text(), settings.maxTokens())).toArray(int[][]::new);
        int[] order = IntStream.range(0, ids.length).boxed()
                .sorted(Comparator.comparingInt(i -> ids[i].length)).mapToInt(Integer::intValue).toArray();
        long t0 = System.nanoTime();
        long tokens = 0;
        int batches = 0;
        for (int from = 0; from < order.length; from += settings.batch()) {
            int[] rows = Arrays.copyOfRange(order, from, Math.min(order.length, from + settings.batch()));
            int[][] batch = new int[rows.length][];
            for (int b = 0; b < rows.length; b++) {
                batch[b] = ids[rows[b]];
                tokens += batch[b].length;
            }
            consumer.accept(rows, batch);
            progress.update(++batches, tokens / ((System.nanoTime() - t0) / 1e9));
        }
    }

    /** Content identity of an encoder: architecture, shape and every non-block parameter. */
    static String fingerprint(Encoder encoder) {
        MessageDigest md = sha256();
        md.update((encoder.architecture() + "|" + encoder.hiddenSize() + "|" + encoder.blocks().size())
                .getBytes(StandardCharsets.UTF_8));
        ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        for (var e : new TreeMap<>(encoder.otherParameters()).entrySet()) {
            md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
            float[] v = e.getValue();
            // FP16-rounded, so that a saved quantized copy (which stores these at FP16) finds the same head
            for (int from = 0; from < v.length; from += buf.capacity() / Short.BYTES) {
                int n = Math.min(v.length - from, buf.capacity() / Short.BYTES);
                buf.clear();
                for (int i = 0; i < n; i++) buf.putShort(Float.floatToFloat16(v[from + i]));
                buf.flip();
                md.update(buf);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String fileSha256(Path file) {
        MessageDigest md = sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read (" + e.getMessage() + ")", e);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String sha256Hex(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
