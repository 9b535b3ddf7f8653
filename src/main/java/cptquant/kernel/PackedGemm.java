package cptquant.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * y = x W^T for W stored as packed unsigned codes with per-group FP16 scales and byte zero points
 * (layout of {@code cptquant.tensor.PackedWeight}): w[o][i] = (q[o][i] - z[o][g]) * s[o][g].
 *
 * <p>Few rows (decoding) take the fused path: codes are widened to floats in registers and never
 * written back, so each weight byte is read once per token; the zero point is folded out as
 * s * (sum q x - z * sum x). Many rows (prefill, batched evaluation) are compute-bound: the weight is
 * dequantized once into scratch and handed to the FP32 GEMM.
 */
public final class PackedGemm {
    private PackedGemm() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** Below this many rows the fused decode-in-registers path is used. */
    static final int FUSED_MAX_ROWS = 8;

    /**
     * @param zeros out x groups bytes, or null for symmetric codes (zero point 2^(bits-1))
     */
    public static void matmul(float[] x, int rows, int in, int bits, int group, MemorySegment codes,
                              MemorySegment scales, MemorySegment zeros, int out, float[] y) {
        if (rows >= FUSED_MAX_ROWS) {
            float[] w = new float[Math.multiplyExact(out, in)];
            Parallel.forRange(chunks(out), c -> {
                for (int o = c * CHUNK; o < Math.min(out, (c + 1) * CHUNK); o++) {
                    dequantizeRow(o, in, bits, group, codes, scales, zeros, w, o * in);
                }
            });
            Gemm.matmulTransB(x, rows, in, MemorySegment.ofArray(w), out, y);
            return;
        }
        int groups = in / group;
        boolean vector = bits == 8 ? group % L == 0 : group % (2 * L) == 0;
        for (int r = 0; r < rows; r++) {
            final int row = r;
            // Per-row input prepared once: group sums (for the zero-point term) and, for 4-bit, the even and
            // odd inputs apart, because a byte's low nibble is an even column and its high nibble the odd.
            float[] xs = new float[groups];
            for (int g = 0; g < groups; g++) {
                float s = 0;
                for (int i = g * group; i < (g + 1) * group; i++) s += x[row * in + i];
                xs[g] = s;
            }
            float[] xe = null, xo = null;
            if (bits == 4) {
                xe = new float[(in + 1) / 2];
                xo = new float[(in + 1) / 2];
                for (int i = 0; i < in; i++) (i % 2 == 0 ? xe : xo)[i / 2] = x[row * in + i];
            }
            final float[] fe = xe, fo = xo;
            Parallel.forRange(chunks(out), c -> {
                for (int o = c * CHUNK; o < Math.min(out, (c + 1) * CHUNK); o++) {
                    y[row * out + o] = vector
                            ? (bits == 8 ? dot8(x, row * in, in, group, codes, scales, zeros, o, xs)
                                         : dot4(fe, fo, in, group, codes, scales, zeros, o, xs))
                            : dotScalar(x, row * in, in, bits, group, codes, scales, zeros, o);
                }
            });
        }
    }

    private static final int CHUNK = 64;

    private static int chunks(int out) { return (out + CHUNK - 1) / CHUNK; }

    private static float scale(MemorySegment scales, long idx) {
        return Float.float16ToFloat(scales.getAtIndex(I16, idx));
    }

    private static int zero(MemorySegment zeros, int bits, long idx) {
        return zeros == null ? 1 << (bits - 1) : zeros.get(ValueLayout.JAVA_BYTE, idx) & 0xff;
    }

    /** 8-bit row: codes are read as signed (q - 128) so the byte-to-float widening is exact. */
    private static float dot8(float[] x, int xo, int in, int group, MemorySegment codes, MemorySegment scales,
                              MemorySegment zeros, int o, float[] xs) {
        int groups = in / group;
        long rowBase = (long) o * in;
        FloatVector total = FloatVector.zero(F);
        float correction = 0;
        for (int g = 0; g < groups; g++) {
            FloatVector acc = FloatVector.zero(F);
            for (int i = g * group; i < (g + 1) * group; i += L) {
                ByteVector q = ByteVector.fromMemorySegment(B, codes, rowBase + i, ByteOrder.LITTLE_ENDIAN)
                        .lanewise(VectorOperators.XOR, (byte) 0x80);
                FloatVector qf = (FloatVector) q.convertShape(VectorOperators.B2F, F, 0);
                acc = qf.fma(FloatVector.fromArray(F, x, xo + i), acc);
            }
            float s = scale(scales, (long) o * groups + g);
            total = acc.fma(FloatVector.broadcast(F, s), total);
            correction += s * (zero(zeros, 8, (long) o * groups + g) - 128) * xs[g];
        }
        return total.reduceLanes(VectorOperators.ADD) - correction;
    }

    /** 4-bit row: each L bytes hold L even and L odd columns, dotted with the split inputs. */
    private static float dot4(float[] xe, float[] xodd, int in, int group, MemorySegment codes, MemorySegment scales,
                              MemorySegment zeros, int o, float[] xs) {
        int groups = in / group;
        long rowBase = (long) o * ((in + 1) / 2);
        FloatVector total = FloatVector.zero(F);
        float correction = 0;
        for (int g = 0; g < groups; g++) {
            FloatVector acc = FloatVector.zero(F);
            for (int i = g * group; i < (g + 1) * group; i += 2 * L) {
                ByteVector b = ByteVector.fromMemorySegment(B, codes, rowBase + i / 2, ByteOrder.LITTLE_ENDIAN);
                FloatVector lo = (FloatVector) b.and((byte) 0x0f).convertShape(VectorOperators.B2F, F, 0);
                FloatVector hi = (FloatVector) b.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0f)
                        .convertShape(VectorOperators.B2F, F, 0);
                acc = lo.fma(FloatVector.fromArray(F, xe, i / 2), acc);
                acc = hi.fma(FloatVector.fromArray(F, xodd, i / 2), acc);
            }
            float s = scale(scales, (long) o * groups + g);
            total = acc.fma(FloatVector.broadcast(F, s), total);
            correction += s * zero(zeros, 4, (long) o * groups + g) * xs[g];
        }
        return total.reduceLanes(VectorOperators.ADD) - correction;
    }

    private static float dotScalar(float[] x, int xo, int in, int bits, int group, MemorySegment codes,
                                   MemorySegment scales, MemorySegment zeros, int o) {
        float[] w = new float[in];
        dequantizeRow(o, in, bits, group, codes, scales, zeros, w, 0);
        float s = 0;
        for (int i = 0; i < in; i++) s += w[i] * x[xo + i];
        return s;
    }

    /** Row o of W as floats into dst[off, off+in): the plain definition of the format. */
    public static void dequantizeRow(int o, int in, int bits, int group, MemorySegment codes, MemorySegment scales,
                                     MemorySegment zeros, float[] dst, int off) {
        int groups = in / group;
        long rowBase = (long) o * (bits == 8 ? in : (in + 1) / 2);
        for (int g = 0; g < groups; g++) {
            float s = scale(scales, (long) o * groups + g);
            int z = zero(zeros, bits, (long) o * groups + g);
            for (int i = g * group; i < (g + 1) * group; i++) {
                int q;
                if (bits == 8) {
                    q = codes.get(ValueLayout.JAVA_BYTE, rowBase + i) & 0xff;
                } else {
                    int b = codes.get(ValueLayout.JAVA_BYTE, rowBase + (i >> 1)) & 0xff;
                    q = (i & 1) == 0 ? b & 0x0f : b >>> 4;
                }
                dst[off + i] = (q - z) * s;
            }
        }
    }
}
