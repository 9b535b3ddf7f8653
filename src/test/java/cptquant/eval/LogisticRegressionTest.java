package cptquant.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.io.ModelFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogisticRegressionTest {

    /** Gaussian blobs: class c is centred at c * separation along every feature, plus one constant feature. */
    private record Data(float[] x, int[] y, int rows, int dim) {
        static Data blobs(int rows, int dim, int classes, double separation, long seed) {
            Random rnd = new Random(seed);
            float[] x = new float[rows * dim];
            int[] y = new int[rows];
            for (int r = 0; r < rows; r++) {
                y[r] = r % classes;
                for (int j = 0; j < dim - 1; j++) x[r * dim + j] = (float) (rnd.nextGaussian() + separation * y[r] * (j + 1));
                x[r * dim + dim - 1] = 3f;
            }
            return new Data(x, y, rows, dim);
        }
    }

    @Test
    void separableDataIsClassifiedPerfectlyWithFiniteWeights() {
        Data d = Data.blobs(300, 5, 2, 8, 1);
        ClassifierHead head = new LogisticRegression(1.0).fit(d.x(), d.rows(), d.dim(), d.y(), 2);
        assertArrayEquals(d.y(), head.predict(d.x(), d.rows()));
        for (double w : head.weights()[0]) assertTrue(Double.isFinite(w) && Math.abs(w) < 100);
        assertEquals(0.0, head.weights()[0][4], "a constant feature gets no weight");
        assertEquals(1.0, head.std()[4]);
    }

    @Test
    void fitIsDeterministic() {
        Data d = Data.blobs(200, 4, 3, 0.7, 2);
        var a = new LogisticRegression(0.5).fit(d.x(), d.rows(), d.dim(), d.y(), 3);
        var b = new LogisticRegression(0.5).fit(d.x(), d.rows(), d.dim(), d.y(), 3);
        assertArrayEquals(a.weights(), b.weights());
        assertArrayEquals(a.bias(), b.bias());
    }

    @Test
    void binaryAgreesWithGradientDescentTwin() {
        twinAgrees(Data.blobs(200, 4, 2, 0.6, 3), 2, 2.0);
    }

    @Test
    void multinomialAgreesWithGradientDescentTwin() {
        twinAgrees(Data.blobs(240, 3, 3, 0.5, 4), 3, 1.0);
    }

    /** The same objective minimised by plain gradient descent must give the same probabilities. */
    private static void twinAgrees(Data d, int classes, double l2) {
        ClassifierHead head = new LogisticRegression(l2).fit(d.x(), d.rows(), d.dim(), d.y(), classes);
        double[][] z = standardised(d);
        double[][] twin = gradientDescent(z, d.y(), classes, l2);
        double[] logits = head.logits(d.x(), d.rows());
        for (int r = 0; r < d.rows(); r++) {
            double[] expected = new double[classes];
            for (int k = 0; k < classes - 1; k++) {
                for (int j = 0; j <= d.dim(); j++) expected[k] += twin[k][j] * z[r][j];
            }
            assertArrayEquals(softmax(expected), softmax(slice(logits, r * classes, classes)), 1e-6, "row " + r);
        }
    }

    private static double[][] gradientDescent(double[][] z, int[] y, int classes, double l2) {
        int p = z[0].length;
        double[][] w = new double[classes - 1][p];
        double lr = 1.0 / (z.length * p + l2);
        for (int it = 0; it < 40_000; it++) {
            double[][] g = new double[classes - 1][p];
            for (int r = 0; r < z.length; r++) {
                double[] s = new double[classes];
                for (int k = 0; k < classes - 1; k++) for (int j = 0; j < p; j++) s[k] += w[k][j] * z[r][j];
                double[] prob = softmax(s);
                for (int k = 0; k < classes - 1; k++) {
                    double res = prob[k] - (y[r] == k ? 1 : 0);
                    for (int j = 0; j < p; j++) g[k][j] += res * z[r][j];
                }
            }
            for (int k = 0; k < classes - 1; k++) {
                for (int j = 0; j < p; j++) w[k][j] -= lr * (g[k][j] + (j < p - 1 ? l2 * w[k][j] : 0));
            }
        }
        return w;
    }

    /** Rows standardised by population mean and std (constant features to 0), each with a trailing 1. */
    private static double[][] standardised(Data d) {
        double[][] z = new double[d.rows()][d.dim() + 1];
        for (int j = 0; j < d.dim(); j++) {
            double mean = 0;
            double sq = 0;
            for (int i = 0; i < d.rows(); i++) mean += d.x()[i * d.dim() + j];
            mean /= d.rows();
            for (int i = 0; i < d.rows(); i++) sq += Math.pow(d.x()[i * d.dim() + j] - mean, 2);
            double std = Math.sqrt(sq / d.rows());
            for (int r = 0; r < d.rows(); r++) z[r][j] = std > 1e-12 ? (d.x()[r * d.dim() + j] - mean) / std : 0;
        }
        for (double[] row : z) row[d.dim()] = 1;
        return z;
    }

    private static double[] softmax(double[] s) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : s) max = Math.max(max, v);
        double sum = 0;
        double[] out = new double[s.length];
        for (int i = 0; i < s.length; i++) sum += out[i] = Math.exp(s[i] - max);
        for (int i = 0; i < s.length; i++) out[i] /= sum;
        return out;
    }

    private static double[] slice(double[] a, int from, int n) {
        return java.util.Arrays.copyOfRange(a, from, from + n);
    }

    @Test
    void crossValidationPrefersStrongPenaltyWhenFeaturesAreMostlyNoise() {
        // One weakly informative feature among 40 noise features and 80 rows: a weak penalty overfits.
        Random rnd = new Random(6);
        int rows = 80;
        int dim = 41;
        float[] x = new float[rows * dim];
        int[] y = new int[rows];
        for (int r = 0; r < rows; r++) {
            y[r] = r % 2;
            x[r * dim] = (float) (rnd.nextGaussian() + 1.5 * y[r]);
            for (int j = 1; j < dim; j++) x[r * dim + j] = (float) rnd.nextGaussian();
        }
        assertEquals(1000.0, LogisticRegression.choosePenalty(x, rows, dim, y, 2, java.util.List.of(0.001, 1000.0), 5));
        assertEquals(0.001, LogisticRegression.choosePenalty(x, rows, dim, y, 2, java.util.List.of(0.001), 5));
    }

    @Test
    void headRoundTripsThroughJson(@TempDir Path dir) throws Exception {
        Data d = Data.blobs(100, 3, 2, 1, 5);
        ClassifierHead head = new LogisticRegression(1).fit(d.x(), d.rows(), d.dim(), d.y(), 2);
        Path f = dir.resolve("heads/h.json");
        head.save(f);
        ClassifierHead back = ClassifierHead.load(f);
        assertArrayEquals(head.weights(), back.weights());
        assertArrayEquals(head.bias(), back.bias());
        assertArrayEquals(head.mean(), back.mean());
        assertArrayEquals(head.std(), back.std());
        Files.writeString(f, "{\"weights\": [[1]], \"bias\": [0], \"mean\": [0], \"std\": [1]}");
        var e = assertThrows(ModelFormatException.class, () -> ClassifierHead.load(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    }

    @Test
    void rejectsLabelsOutsideTheClasses() {
        assertThrows(IllegalArgumentException.class,
                () -> new LogisticRegression(1).fit(new float[] {1, 2}, 2, 1, new int[] {0, 2}, 2));
    }
}
