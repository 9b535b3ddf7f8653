package cptquant.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RotaryTest {

    @Test
    void rotatesInterleavedPairsByLlama2cAngles() {
        int headDim = 8, heads = 2, rows = 3, start = 5;
        Rotary rope = new Rotary(headDim, 16, Rotary.DEFAULT_THETA);
        float[] x = new float[rows * heads * headDim];
        Random rnd = new Random(2);
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] y = x.clone();
        rope.apply(y, rows, heads, start);
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                for (int j = 0; j < headDim; j += 2) {
                    // llama2.c: freq = 1 / 10000^(j / head_size); rotate (x[j], x[j+1]) by pos * freq.
                    double angle = (start + r) / Math.pow(10000, (double) j / headDim);
                    int o = (r * heads + h) * headDim + j;
                    assertEquals(x[o] * Math.cos(angle) - x[o + 1] * Math.sin(angle), y[o], 1e-5);
                    assertEquals(x[o] * Math.sin(angle) + x[o + 1] * Math.cos(angle), y[o + 1], 1e-5);
                }
            }
        }
    }

    @Test
    void scoresDependOnlyOnRelativePosition() {
        Rotary rope = new Rotary(16, 64, Rotary.DEFAULT_THETA);
        Random rnd = new Random(3);
        float[] q = new float[16], k = new float[16];
        for (int i = 0; i < 16; i++) { q[i] = (float) rnd.nextGaussian(); k[i] = (float) rnd.nextGaussian(); }
        assertEquals(rotatedDot(rope, q, 10, k, 3), rotatedDot(rope, q, 40, k, 33), 1e-4);
        assertThrows(IllegalArgumentException.class, () -> rope.apply(new float[16], 1, 1, 64));
    }

    private static double rotatedDot(Rotary rope, float[] q, int qPos, float[] k, int kPos) {
        float[] a = q.clone(), b = k.clone();
        rope.apply(a, 1, 1, qPos);
        rope.apply(b, 1, 1, kPos);
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }
}
