package cptquant.task;

import cptquant.model.BlockObserver;
import cptquant.model.Encoder;
import cptquant.sensitivity.Objective;
import cptquant.tokenize.Tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Embedding fidelity, a task that needs no labelled data: how close an encoder's mean-pooled sentence
 * embeddings stay to those of the model as loaded (FP32). The metric is the mean cosine similarity to the
 * FP32 embeddings (1 = unchanged); per-sample loss is 1 - cosine. The texts are 64 built-in sentences
 * (even lines calibrate, odd lines evaluate), so the demo runs on a machine without any datasets.
 */
public final class EmbeddingTask implements Task {
    private static final int BATCH = 16;

    private final Encoder encoder;
    private final int[][] calib;
    private final int[][] eval;
    private final float[] calibReference;
    private final float[] evalReference;

    /** Tokenizes the built-in sentences and records the current (FP32) model's embeddings of them. */
    public EmbeddingTask(Encoder encoder, Tokenizer tokenizer, int maxTokens) {
        this.encoder = encoder;
        List<String> lines = sentences();
        List<int[]> c = new ArrayList<>(), e = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            (i % 2 == 0 ? c : e).add(tokenizer.encode(lines.get(i), Math.min(maxTokens, encoder.maxPositions())));
        }
        calib = c.toArray(int[][]::new);
        eval = e.toArray(int[][]::new);
        calibReference = pooled(calib, BlockObserver.NONE);
        evalReference = pooled(eval, BlockObserver.NONE);
    }

    @Override public String name() { return "embed"; }

    @Override public String metricName() { return "cosine"; }

    @Override public String damageName() { return "cosine_drop"; }

    @Override
    public String describeData() {
        return "embedding fidelity: mean cosine similarity of mean-pooled embeddings to the FP32 model's, on "
                + eval.length + " built-in sentences (" + calib.length + " others calibrate)";
    }

    @Override
    public Objective calibration() {
        return new Objective() {
            @Override
            public Result evaluate(BlockObserver observer) {
                double[] cos = cosines(pooled(calib, observer), calibReference);
                double[] losses = new double[cos.length];
                for (int i = 0; i < cos.length; i++) losses[i] = 1 - cos[i];
                return new Result(losses, mean(cos));
            }

            @Override public String metricName() { return "cosine"; }
        };
    }

    @Override
    public double evaluate() { return mean(cosines(pooled(eval, BlockObserver.NONE), evalReference)); }

    @Override
    public double damage(double base, double value) { return base - value; }

    private float[] pooled(int[][] ids, BlockObserver observer) {
        int dim = encoder.hiddenSize();
        float[] out = new float[ids.length * dim];
        for (int from = 0; from < ids.length; from += BATCH) {
            int[][] batch = java.util.Arrays.copyOfRange(ids, from, Math.min(ids.length, from + BATCH));
            System.arraycopy(encoder.encode(batch, observer).meanPool(), 0, out, from * dim, batch.length * dim);
        }
        return out;
    }

    private double[] cosines(float[] a, float[] b) {
        int dim = encoder.hiddenSize(), n = a.length / dim;
        double[] cos = new double[n];
        for (int i = 0; i < n; i++) {
            double dot = 0, na = 0, nb = 0;
            for (int j = 0; j < dim; j++) {
                double x = a[i * dim + j], y = b[i * dim + j];
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
            cos[i] = dot / Math.sqrt(na * nb);
        }
        return cos;
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double x : v) s += x;
        return s / v.length;
    }

    private static List<String> sentences() {
        try (var in = new BufferedReader(new InputStreamReader(Objects.requireNonNull(
                EmbeddingTask.class.getResourceAsStream("/cptquant/sentences.txt"), "missing resource sentences.txt"),
                StandardCharsets.UTF_8))) {
            return in.lines().filter(l -> !l.isBlank()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
