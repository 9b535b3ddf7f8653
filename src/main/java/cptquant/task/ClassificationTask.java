package cptquant.task;

import cptquant.eval.ClassifierHead;
import cptquant.eval.Imdb;
import cptquant.eval.ImdbReviews;
import cptquant.io.CachePaths;
import cptquant.io.DataPaths;
import cptquant.model.BlockObserver;
import cptquant.model.Encoder;
import cptquant.progress.Progress;
import cptquant.sensitivity.Objective;
import cptquant.tokenize.Tokenizer;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * IMDB sentiment accuracy. The classifier is the checkpoint's own head, or else a logistic head fitted
 * once on the FP32 model's pooled embeddings of the train split (see {@link Imdb#head}) and then kept
 * fixed, so that a quantized encoder's accuracy drop is measured with the same head. Calibration reviews
 * come from the train split (a seeded balanced sample), evaluation reviews from the test split.
 */
public final class ClassificationTask implements Task {
    private static final int BATCH = 16;
    /** Test reviews scored without --limit, as in {@code eval} (--limit 25000 is the whole split). */
    static final int DEFAULT_EVAL_REVIEWS = 2000;

    private final Encoder encoder;
    private final Tokenizer tokenizer;
    private final ClassifierHead head;
    private final List<ImdbReviews.Review> test;
    private final int[][] calibIds;
    private final int[] calibLabels;
    private final String calibNote;

    /** Loads the data and fits (or reads the cached) head; {@code encoder} must be the FP32 original. */
    public ClassificationTask(Encoder encoder, Tokenizer tokenizer, TaskSettings s) {
        this.encoder = encoder;
        this.tokenizer = tokenizer;
        boolean own = Imdb.hasOwnHead(encoder, tokenizer);
        if (own) {
            head = null;
        } else {
            try (Progress bar = Progress.bar("fit IMDB head", 0)) {
                head = Imdb.head(encoder, tokenizer, DataPaths.resolve(ImdbReviews.TRAIN), Imdb.Settings.DEFAULTS,
                        CachePaths.root(), bar);
            }
        }
        List<ImdbReviews.Review> all = ImdbReviews.test();
        test = ImdbReviews.balancedSubset(all, s.evalLimit() == 0 ? DEFAULT_EVAL_REVIEWS : s.evalLimit(), s.seed());
        List<ImdbReviews.Review> calib = ImdbReviews.balancedSubset(ImdbReviews.train(), s.calibSamples(), s.seed() + 1);
        int maxTokens = Math.min(s.calibSeqlen(), encoder.maxPositions());
        calibIds = calib.stream().map(r -> tokenizer.encode(r.text(), maxTokens)).toArray(int[][]::new);
        calibLabels = calib.stream().mapToInt(ImdbReviews.Review::label).toArray();
        calibNote = calib.size() + " train reviews (balanced, seed " + (s.seed() + 1) + ") truncated to " + maxTokens
                + " tokens; " + (own ? "the checkpoint's own head" : "a logistic head fitted on FP32 embeddings, kept fixed");
    }

    @Override public String name() { return "imdb"; }

    @Override public String metricName() { return "accuracy"; }

    @Override public String damageName() { return "acc_drop_points"; }

    @Override
    public String describeData() {
        return "evaluation: " + test.size() + " IMDB test reviews (balanced seeded subset unless all), "
                + Imdb.Settings.DEFAULTS.maxTokens() + " tokens each; calibration: " + calibNote;
    }

    @Override
    public Objective calibration() {
        return new Objective() {
            @Override
            public Result evaluate(BlockObserver observer) {
                double[] losses = new double[calibIds.length];
                int correct = 0;
                // similar lengths per batch: less padding
                Integer[] order = IntStream.range(0, calibIds.length).boxed().toArray(Integer[]::new);
                Arrays.sort(order, Comparator.comparingInt(i -> calibIds[i].length));
                for (int from = 0; from < order.length; from += BATCH) {
                    int n = Math.min(BATCH, order.length - from);
                    int[][] batch = new int[n][];
                    for (int b = 0; b < n; b++) batch[b] = calibIds[order[from + b]];
                    double[] logits = logits(batch, observer);
                    int classes = logits.length / n;
                    for (int b = 0; b < n; b++) {
                        int i = order[from + b];
                        double max = Double.NEGATIVE_INFINITY;
                        int arg = 0;
                        for (int c = 0; c < classes; c++) {
                            if (logits[b * classes + c] > max) {
                                max = logits[b * classes + c];
                                arg = c;
                            }
                        }
                        double sum = 0;
                        for (int c = 0; c < classes; c++) sum += Math.exp(logits[b * classes + c] - max);
                        losses[i] = Math.log(sum) + max - logits[b * classes + calibLabels[i]];
                        if (arg == calibLabels[i]) correct++;
                    }
                }
                return new Result(losses, (double) correct / calibIds.length);
            }

            @Override public String metricName() { return "accuracy"; }
        };
    }

    /** Class logits of a batch: the own head (which sees no observer), else the fixed logistic head. */
    private double[] logits(int[][] batch, BlockObserver observer) {
        if (head == null) {
            float[] l = encoder.classify(batch).orElseThrow();
            return IntStream.range(0, l.length).mapToDouble(i -> l[i]).toArray();
        }
        return head.logits(encoder.encode(batch, observer).meanPool(), batch.length);
    }

    @Override
    public double evaluate() {
        try (Progress bar = Progress.bar("imdb accuracy", (test.size() + 31) / 32)) {
            return Imdb.evaluate(encoder, tokenizer, head, test, Imdb.Settings.DEFAULTS, bar).accuracy();
        }
    }

    @Override
    public double damage(double base, double value) { return 100 * (base - value); }
}
