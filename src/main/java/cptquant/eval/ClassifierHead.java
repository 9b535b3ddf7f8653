package cptquant.eval;

import cptquant.io.JsonOut;
import cptquant.io.ModelFormatException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A linear classifier on standardised features: {@code logits = weights * ((x - mean) / std) + bias}.
 * Fitted once on an FP32 encoder's embeddings and then applied unchanged to quantized versions of it, so
 * that accuracy differences come from the encoder alone.
 *
 * @param weights classes x dim, on standardised features
 * @param bias    one per class
 * @param mean    per-feature mean of the training features
 * @param std     per-feature standard deviation of the training features (constant features: 1)
 */
public record ClassifierHead(double[][] weights, double[] bias, double[] mean, double[] std) {
    public ClassifierHead {
        if (weights.length < 2 || bias.length != weights.length) {
            throw new IllegalArgumentException("a head needs >= 2 classes and one bias per class");
        }
        for (double[] row : weights) {
            if (row.length != mean.length) throw new IllegalArgumentException("weight rows must have dim entries");
        }
        if (std.length != mean.length) throw new IllegalArgumentException("mean and std must have dim entries");
    }

    public int classes() { return weights.length; }

    public int dim() { return mean.length; }

    /** Logits of {@code rows} feature vectors (rows x dim, row-major): rows x classes. */
    public double[] logits(float[] features, int rows) {
        int d = dim();
        if (features.length != rows * d) {
            throw new IllegalArgumentException("expected " + rows + " x " + d + " features, got " + features.length);
        }
        int k = classes();
        double[] out = new double[rows * k];
        double[] z = new double[d];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < d; j++) z[j] = (features[r * d + j] - mean[j]) / std[j];
            for (int c = 0; c < k; c++) {
                double s = bias[c];
                for (int j = 0; j < d; j++) s += weights[c][j] * z[j];
                out[r * k + c] = s;
            }
        }
        return out;
    }

    /** The most likely class of each of {@code rows} feature vectors. */
    public int[] predict(float[] features, int rows) {
        return argmax(logits(features, rows), rows, classes());
    }

    /** Index of the largest entry of each row of a rows x cols array (first one on ties). */
    static int[] argmax(double[] values, int rows, int cols) {
        int[] out = new int[rows];
        for (int r = 0; r < rows; r++) {
            for (int c = 1; c < cols; c++) if (values[r * cols + c] > values[r * cols + out[r]]) out[r] = c;
        }
        return out;
    }

    /** Writes the head as JSON, atomically. */
    public void save(Path file) {
        JsonOut.write(file, this);
    }

    /** Reads a head written by {@link #save}. */
    public static ClassifierHead load(Path file) {
        try {
            return JsonOut.MAPPER.readValue(file.toFile(), ClassifierHead.class);
        } catch (IOException | IllegalArgumentException e) {
            throw new ModelFormatException(file, "not a classifier head (" + e.getMessage() + ")", e);
        }
    }
}
