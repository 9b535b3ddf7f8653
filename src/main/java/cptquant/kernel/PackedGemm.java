package cptquant.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
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
                int yOff = row * out;
                float[] sc = new float[ROWS * groups], corr = new float[ROWS];
                for (int o = c * CHUNK; o < Math.min(out, (c + 1) * CHUNK); o += ROWS) {
                    if (!vector) {
                        for (int t = o; t < Math.min(out, o + ROWS); t++) {
                            y[yOff + t] = dotScalar(x, row * in, in, bits, group, codes, scales, zeros, t);
                        }
                        continue;
                    }
                    rowParams(o, out, groups, bits, scales, zeros, xs, sc, corr);
                    if (bits == 8) dot8(x, row * in, in, group, codes, sc, corr, o, out, y, yOff);
                    else dot4(fe, fo, in, group, codes, sc, corr, o, out, y, yOff);
                }
            });
        }
    }

    private static final int CHUNK = 64;
    /** Output rows the fused kernels compute together, so each input vector load serves four rows. */
    private static final int ROWS = 4;

    private static int chunks(int out) { return (out + CHUNK - 1) / CHUNK; }

    private static float scale(MemorySegment scales, long idx) {
        return Float.float16ToFloat(scales.getAtIndex(I16, idx));
    }

    private static int zero(MemorySegment zeros, int bits, long idx) {
        return zeros == null ? 1 << (bits - 1) : zeros.get(ValueLayout.JAVA_BYTE, idx) & 0xff;
    }

    /**
     * Rows o..o+3's group scales into sc[t * groups + g] (rows past out repeat the last) and their
     * zero-point terms s * (z - zRead) * (sum of x over the group) into corr[t], where zRead is the zero
     * point the kernels' code widening already removes (128 for 8-bit codes read as signed). Read here,
     * outside the kernels, because a scale read from the segment inside a kernel's group loop halved its
     * speed.
     */
    private static void rowParams(int o, int out, int groups, int bits, MemorySegment scales, MemorySegment zeros,
                                  float[] xs, float[] sc, float[] corr) {
        int zRead = bits == 8 ? 128 : 0;
        for (int t = 0; t < ROWS; t++) {
            long row = Math.min(o + t, out - 1);
            float c = 0;
            for (int g = 0; g < groups; g++) {
                float s = scale(scales, row * groups + g);
                sc[t * groups + g] = s;
                c += s * (zero(zeros, bits, row * groups + g) - zRead) * xs[g];
            }
            corr[t] = c;
        }
    }

    /**
     * y[o..o+3] = sum over groups of s * sum (q - 128) x, minus corr, for rows o..o+3 of 8-bit codes, read as signed so
     * the byte-to-float widening is exact. A step short of four rows repeats the last row (computed, not
     * stored) so the loop never branches. Helpers would box the vectors, so the body is written out.
     */
    private static void dot8(float[] x, int xo, int in, int group, MemorySegment codes, float[] sc, float[] corr,
                             int o, int out, float[] y, int yOff) {
        int groups = in / group;
        int o1 = Math.min(o + 1, out - 1), o2 = Math.min(o + 2, out - 1), o3 = Math.min(o + 3, out - 1);
        long r0 = (long) o * in, r1 = (long) o1 * in, r2 = (long) o2 * in, r3 = (long) o3 * in;
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0;
        for (int g = 0; g < groups; g++) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int i = g * group; i < (g + 1) * group; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, xo + i);
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, codes, r0 + i, ByteOrder.LITTLE_ENDIAN)
                        .lanewise(VectorOperators.XOR, (byte) 0x80).convertShape(VectorOperators.B2F, F, 0)).fma(v, a0);
                a1 = ((FloatVector) ByteVector.fromMemorySegment(B, codes, r1 + i, ByteOrder.LITTLE_ENDIAN)
                        .lanewise(VectorOperators.XOR, (byte) 0x80).convertShape(VectorOperators.B2F, F, 0)).fma(v, a1);
                a2 = ((FloatVector) ByteVector.fromMemorySegment(B, codes, r2 + i, ByteOrder.LITTLE_ENDIAN)
                        .lanewise(VectorOperators.XOR, (byte) 0x80).convertShape(VectorOperators.B2F, F, 0)).fma(v, a2);
                a3 = ((FloatVector) ByteVector.fromMemorySegment(B, codes, r3 + i, ByteOrder.LITTLE_ENDIAN)
                        .lanewise(VectorOperators.XOR, (byte) 0x80).convertShape(VectorOperators.B2F, F, 0)).fma(v, a3);
            }
            t0 = a0.fma(FloatVector.broadcast(F, sc[g]), t0);
            t1 = a1.fma(FloatVector.broadcast(F, sc[1 * groups + g]), t1);
            t2 = a2.fma(FloatVector.broadcast(F, sc[2 * groups + g]), t2);
            t3 = a3.fma(FloatVector.broadcast(F, sc[3 * groups + g]), t3);
        }
        y[yOff + o] = t0.reduceLanes(VectorOperators.ADD) - corr[0];
        if (o + 1 < out) y[yOff + o + 1] = t1.reduceLanes(VectorOperators.ADD) - corr[1];
        if (o + 2 < out) y[yOff + o + 2] = t2.reduceLanes(VectorOperators.ADD) - corr[2];
        if (o + 3 < out) y[yOff + o + 3] = t3.reduceLanes(VectorOperators.ADD) - corr[3];
    }

    /**
     * y[o..o+3] = sum over groups of s * sum q x, minus corr, for rows o..o+3 of 4-bit codes: each L bytes hold L even
     * and L odd columns, dotted with the split inputs. Bytes are widened to int lanes before the nibbles
     * are taken apart: x86 has no byte shift, and the emulated one made the kernel half as fast.
     */
    private static void dot4(float[] xe, float[] xodd, int in, int group, MemorySegment codes, float[] sc,
                             float[] corr, int o, int out, float[] y, int yOff) {
        int groups = in / group;
        int o1 = Math.min(o + 1, out - 1), o2 = Math.min(o + 2, out - 1), o3 = Math.min(o + 3, out - 1);
        long rb = (in + 1) / 2;
        long r0 = o * rb, r1 = o1 * rb, r2 = o2 * rb, r3 = o3 * rb;
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0;
        for (int g = 0; g < groups; g++) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int i = g * group / 2; i < (g + 1) * group / 2; i += L) {
                FloatVector e = FloatVector.fromArray(F, xe, i), d = FloatVector.fromArray(F, xodd, i);
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, codes, r0 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                a0 = ((FloatVector) q.and(0x0f).convert(VectorOperators.I2F, 0)).fma(e, a0);
                a0 = ((FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(d, a0);
                q = (IntVector) ByteVector.fromMemorySegment(B, codes, r1 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                a1 = ((FloatVector) q.and(0x0f).convert(VectorOperators.I2F, 0)).fma(e, a1);
                a1 = ((FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(d, a1);
                q = (IntVector) ByteVector.fromMemorySegment(B, codes, r2 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                a2 = ((FloatVector) q.and(0x0f).convert(VectorOperators.I2F, 0)).fma(e, a2);
                a2 = ((FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(d, a2);
                q = (IntVector) ByteVector.fromMemorySegment(B, codes, r3 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                a3 = ((FloatVector) q.and(0x0f).convert(VectorOperators.I2F, 0)).fma(e, a3);
                a3 = ((FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(d, a3);
            }
            t0 = a0.fma(FloatVector.broadcast(F, sc[g]), t0);
            t1 = a1.fma(FloatVector.broadcast(F, sc[1 * groups + g]), t1);
            t2 = a2.fma(FloatVector.broadcast(F, sc[2 * groups + g]), t2);
            t3 = a3.fma(FloatVector.broadcast(F, sc[3 * groups + g]), t3);
        }
        y[yOff + o] = t0.reduceLanes(VectorOperators.ADD) - corr[0];
        if (o + 1 < out) y[yOff + o + 1] = t1.reduceLanes(VectorOperators.ADD) - corr[1];
        if (o + 2 < out) y[yOff + o + 2] = t2.reduceLanes(VectorOperators.ADD) - corr[2];
        if (o + 3 < out) y[yOff + o + 3] = t3.reduceLanes(VectorOperators.ADD) - corr[3];
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
