package cptquant.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.tensor.PackedWeight;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The packed kernels (fused decode path and dequantize-then-GEMM path) against the plain definition. */
class PackedGemmTest {

    @ParameterizedTest
    @CsvSource({
        "8,0,false,1,256", "8,64,false,1,256", "8,0,true,3,256", "4,0,false,1,256", "4,32,false,2,256",
        "4,128,true,1,256",
        "8,48,false,3,288", // groups of a non-power-of-two size: odd vectors per group
        // 4-bit blocks: rows ending inside a block, groups spanning blocks, blocks holding several groups
        "4,0,false,1,288", "4,256,false,2,512", "4,32,true,1,96", "4,64,false,1,64", "4,8,false,1,136",
        "4,96,false,1,288", // 4-bit groups that neither divide nor are divided by a block: scalar fallback
        "8,64,false,9,256", "4,32,false,17,256", // many rows: dequantize + GEMM path
        "4,0,false,1,63", "8,0,false,1,63", // widths the vector path cannot cover: scalar fallback
    })
    void packedMatmulMatchesDequantizedReference(int bits, int group, boolean symmetric, int rows, int in) {
        int out = 70;
        float[] w = QuantizerTest.weights(out, in, bits + group);
        PackedWeight p = Quantizer.toInt(w, out, in, new QuantSpec.Int(bits, group, symmetric));
        float[] x = QuantizerTest.weights(rows, in, 77);
        float[] y = new float[rows * out];
        p.matmul(x, rows, y);
        float[] row = new float[in];
        double worst = 0;
        for (int o = 0; o < out; o++) {
            p.row(o, row, 0);
            for (int r = 0; r < rows; r++) {
                double ref = 0, scale = 0;
                for (int i = 0; i < in; i++) {
                    ref += (double) row[i] * x[r * in + i];
                    scale += Math.abs((double) row[i] * x[r * in + i]);
                }
                double rel = Math.abs(y[r * out + o] - ref) / (scale + 1e-12);
                worst = Math.max(worst, rel);
            }
        }
        assertTrue(worst <= 1e-5, "relative error " + worst);
    }
}
