package cptquant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.tensor.DType;
import cptquant.tensor.DenseWeight;
import cptquant.tensor.PackedWeight;
import cptquant.tensor.Weight;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class QuantizerTest {

    /** Gaussian weights with a few large outliers, like real linear layers. */
    static float[] weights(int out, int in, long seed) {
        Random r = new Random(seed);
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * 0.05);
        for (int i = 0; i < w.length / 97; i++) w[r.nextInt(w.length)] = (float) (r.nextGaussian() * 0.6);
        return w;
    }

    @ParameterizedTest
    @CsvSource({"4,0,false", "4,32,false", "8,0,false", "8,64,false", "4,32,true", "8,0,true"})
    void roundTripErrorIsAtMostHalfAStepOfItsGroup(int bits, int group, boolean symmetric) {
        int out = 24, in = 128;
        float[] w = weights(out, in, bits * 31L + group);
        PackedWeight p = Quantizer.toInt(w, out, in, new QuantSpec.Int(bits, group, symmetric));
        float[] back = p.toFloat();
        int g = group == 0 ? in : group;
        double worstRatio = 0;
        for (int r = 0; r < out; r++) {
            for (int c = 0; c < in; c++) {
                double step = p.scale(r, c / g);
                double err = Math.abs(back[r * in + c] - w[r * in + c]);
                assertTrue(err <= step / 2 * (1 + 1e-5) + 1e-7, "error " + err + " above half step " + step / 2);
                worstRatio = Math.max(worstRatio, err / step);
            }
        }
        assertTrue(worstRatio > 0.3, "errors should reach near half a step on random data, got " + worstRatio);
    }

    @Test
    void fourBitCodesArePackedLowNibbleFirst() {
        // Row 0..15 times 0.5: lo = 0, hi = 7.5, so scale = 0.5 (exact in FP16), zero point 0, codes 0..15.
        float[] w = new float[16];
        for (int i = 0; i < 16; i++) w[i] = i * 0.5f;
        PackedWeight p = Quantizer.toInt(w, 1, 16, new QuantSpec.Int(4, 0, false));
        byte[] packed = p.codes().toArray(ValueLayout.JAVA_BYTE);
        assertArrayEquals(new byte[] {0x10, 0x32, 0x54, 0x76, (byte) 0x98, (byte) 0xba, (byte) 0xdc, (byte) 0xfe}, packed);
        assertEquals(0.5f, p.scale(0, 0));
        assertEquals(0, p.zero(0, 0));
        assertArrayEquals(w, p.toFloat());
    }

    @Test
    void zeroPointRecentresNegativeRanges() {
        // -8..7 in steps of 1: lo = -8, hi = 7, scale = 1, zero = 8; every value is exactly representable.
        float[] w = new float[16];
        for (int i = 0; i < 16; i++) w[i] = i - 8;
        PackedWeight p = Quantizer.toInt(w, 1, 16, new QuantSpec.Int(4, 0, false));
        assertEquals(8, p.zero(0, 0));
        assertArrayEquals(w, p.toFloat());
    }

    @Test
    void storageBytesCountCodesScalesAndZeroPoints() {
        float[] w = weights(6, 7, 1);
        // 4-bit, odd width 7: rows pad to 4 bytes; one FP16 scale and one zero-point byte per row.
        assertEquals(6 * 4 + 6 * 2 + 6, Quantizer.toInt(w, 6, 7, new QuantSpec.Int(4, 0, false)).storageBytes());
        float[] w2 = weights(4, 256, 2);
        // 8-bit, groups of 64: 256 code bytes per row, 4 groups x (2 + 1) bytes per row.
        assertEquals(4 * 256 + 4 * 4 * 3, Quantizer.toInt(w2, 4, 256, new QuantSpec.Int(8, 64, false)).storageBytes());
        // Symmetric stores no zero points.
        assertEquals(4 * 128 + 4 * 4 * 2, Quantizer.toInt(w2, 4, 256, new QuantSpec.Int(4, 64, true)).storageBytes());
        assertEquals(4 * 256 * 2, Quantizer.quantize(DenseWeight.ofFloats(w2, 4, 256), new QuantSpec.Half(DType.F16)).storageBytes());
    }

    @Test
    void groupMustDivideWidth() {
        assertThrows(IllegalArgumentException.class,
                () -> Quantizer.toInt(new float[2 * 100], 2, 100, new QuantSpec.Int(4, 64, false)));
    }

    @Test
    void allZeroGroupRoundTripsToZero() {
        PackedWeight p = Quantizer.toInt(new float[64], 2, 32, new QuantSpec.Int(4, 0, false));
        assertArrayEquals(new float[64], p.toFloat());
    }

    @Test
    void bf16RoundsToNearestEven() {
        Random r = new Random(7);
        for (int i = 0; i < 20000; i++) {
            float f = Float.intBitsToFloat(r.nextInt()) ;
            if (Float.isNaN(f) || Float.isInfinite(f)) continue;
            float got = Float.intBitsToFloat((Quantizer.toBf16(f) & 0xffff) << 16);
            // Reference: the two BF16 neighbours by truncation, chosen by exact distance, ties to even.
            int bits = Float.floatToRawIntBits(f);
            float down = Float.intBitsToFloat(bits & 0xffff0000);
            float up = Float.intBitsToFloat((bits & 0xffff0000) + 0x10000);
            double dd = Math.abs((double) f - down), du = Math.abs((double) up - f);
            float want = dd < du ? down : du < dd ? up : (((bits >>> 16) & 1) == 0 ? down : up);
            assertEquals(want, got, "bf16 of " + f);
        }
    }

    @Test
    void f16StorageMatchesJavaRounding() {
        float[] w = weights(3, 40, 3);
        Weight h = Quantizer.quantize(DenseWeight.ofFloats(w, 3, 40), new QuantSpec.Half(DType.F16));
        float[] back = h.toFloat();
        for (int i = 0; i < w.length; i++) assertEquals(Float.float16ToFloat(Float.floatToFloat16(w[i])), back[i]);
    }

    @Test
    void packedMatmulEqualsMatmulWithDequantizedWeights() {
        int out = 48, in = 96, rows = 5;
        PackedWeight p = Quantizer.toInt(weights(out, in, 9), out, in, new QuantSpec.Int(4, 32, false));
        float[] x = weights(rows, in, 10);
        float[] y = new float[rows * out];
        p.matmul(x, rows, y);
        float[] deq = p.toFloat();
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = 0, mag = 0;
                for (int i = 0; i < in; i++) { s += (double) x[r * in + i] * deq[o * in + i]; mag += Math.abs(x[r * in + i] * deq[o * in + i]); }
                assertEquals(s, y[r * out + o], 1e-5 * mag + 1e-7);
            }
        }
    }
}
