package cptquant.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The vectorised operations against their double-precision definitions, at lengths with and without tails. */
class OpsTest {

    static float[] random(int n, long seed, double spread) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * spread);
        return x;
    }

    /** Worst |got - want| / max(1, |want|). */
    static double worst(float[] got, float[] want) {
        assertEquals(want.length, got.length);
        double w = 0;
        for (int i = 0; i < got.length; i++) {
            w = Math.max(w, Math.abs(got[i] - want[i]) / Math.max(1.0, Math.abs(want[i])));
        }
        return w;
    }

    static void assertClose(float[] got, float[] want, double tol, String what) {
        double w = worst(got, want);
        assertTrue(w <= tol, what + ": error " + w);
    }

    static void elementwise(int n, BiConsumer<float[], Integer> fast, BiConsumer<float[], Integer> ref, double tol,
                            String what) {
        float[] x = random(n + 3, n, 4.0); // values past n must stay untouched
        float[] a = x.clone(), b = x.clone();
        fast.accept(a, n);
        ref.accept(b, n);
        assertClose(a, b, tol, what + " n=" + n);
        for (int i = n; i < x.length; i++) assertEquals(x[i], a[i], what + " wrote past n");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7, 16, 33, 1000, 100_003}) // the last splits over the pool
    void activationsMatchDefinitions(int n) {
        elementwise(n, Ops::gelu, OpsReference::gelu, 2e-6, "gelu");
        elementwise(n, Ops::silu, OpsReference::silu, 2e-6, "silu");
        elementwise(n, Ops::relu, OpsReference::relu, 0, "relu");
        float[] y = random(n + 3, 9, 1.0);
        elementwise(n, (a, len) -> Ops.addInPlace(a, y, len), (a, len) -> OpsReference.addInPlace(a, y, len), 0, "add");
        elementwise(n, (a, len) -> Ops.mulInPlace(a, y, len), (a, len) -> OpsReference.mulInPlace(a, y, len), 0, "mul");
    }

    @Test
    void geluKeepsTheErfFormInTheTails() {
        float[] x = {-6f, -3f, -1f, -1e-3f, 0f, 1e-3f, 1f, 3f, 6f};
        float[] ref = x.clone();
        Ops.gelu(x, x.length);
        OpsReference.gelu(ref, ref.length);
        assertClose(x, ref, 1e-6, "gelu");
        assertEquals(-0.00404969f, x[1], 1e-6f); // GELU(-3) with erf; the tanh form gives -0.00363739
    }

    @ParameterizedTest
    @CsvSource({"3,1", "3,5", "3,16", "3,31", "3,384", "3,769", "301,384"}) // the last splits over the pool
    void normsAndBiasMatchDefinitions(int rows, int dim) {
        float[] x = random(rows * dim, dim, 3.0);
        for (int i = 0; i < x.length; i++) x[i] += 5f; // an offset mean, as real hidden states have
        float[] gamma = random(dim, 1, 1.0), beta = random(dim, 2, 1.0);
        float[] a = new float[x.length], b = new float[x.length];
        Ops.layerNorm(x, a, rows, dim, gamma, beta, 1e-5f);
        OpsReference.layerNorm(x, b, rows, dim, gamma, beta, 1e-5f);
        assertClose(a, b, 2e-5, "layerNorm");
        Ops.rmsNorm(x, a, rows, dim, gamma, 1e-6f);
        OpsReference.rmsNorm(x, b, rows, dim, gamma, 1e-6f);
        assertClose(a, b, 2e-5, "rmsNorm");

        float[] inPlace = x.clone();
        Ops.layerNorm(inPlace, inPlace, rows, dim, gamma, beta, 1e-5f);
        OpsReference.layerNorm(x, b, rows, dim, gamma, beta, 1e-5f);
        assertClose(inPlace, b, 2e-5, "layerNorm in place");

        a = x.clone();
        b = x.clone();
        Ops.addBiasRows(a, rows, beta);
        OpsReference.addBiasRows(b, rows, beta);
        assertClose(a, b, 0, "addBiasRows");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 15, 17, 100, 4097})
    void softmaxMatchesDefinitionOnASubrange(int len) {
        float[] x = random(len + 4, len, 8.0);
        float[] a = x.clone(), b = x.clone();
        Ops.softmax(a, 2, len);
        OpsReference.softmax(b, 2, len);
        assertClose(a, b, 1e-6, "softmax");
        double total = 0;
        for (int i = 2; i < 2 + len; i++) total += a[i];
        assertEquals(1.0, total, 1e-5);
        assertEquals(x[0], a[0]);
        assertEquals(x[len + 3], a[len + 3]);
    }
}
