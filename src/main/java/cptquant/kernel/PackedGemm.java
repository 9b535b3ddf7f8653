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
                for (int i = 0; i < in / 2; i++) {
                    xe[i] = x[row * in + 2 * i];
                    xo[i] = x[row * in + 2 * i + 1];
                }
                if (in % 2 == 1) xe[in / 2] = x[row * in + in - 1];
            }
            final float[] fe = xe, fo = xo;
            int chunk = chunkRows(out);
            Parallel.forRange((out + chunk - 1) / chunk, c -> {
                int o0 = c * chunk, o1 = Math.min(out, o0 + chunk);
                Scratch scratch = Scratch.of((o1 - o0) * groups, o1 - o0);
                float[] sc = scratch.scales, corr = scratch.corrections;
                if (vector) chunkParams(o0, o1, groups, bits, scales, zeros, xs, scratch);
                for (int o = o0; o < o1; o++) {
                    int t = o - o0;
                    y[row * out + o] = !vector ? dotScalar(x, row * in, in, bits, group, codes, scales, zeros, o)
                            : (bits == 8 ? dot8(x, row * in, in, group, codes, sc, t * groups, o)
                                         : dot4(fe, fo, in, group, codes, sc, t * groups, o)) - corr[t];
                }
            });
        }
    }

    private static final int CHUNK = 64;

    private static int chunks(int out) { return (out + CHUNK - 1) / CHUNK; }

    /**
     * Rows per decode task: at most CHUNK, but small enough that a 768-row weight splits into some 16 tasks
     * per thread, so the thread that finishes first waits little for the other's last task.
     */
    private static int chunkRows(int out) {
        return Math.max(8, Math.min(CHUNK, out / (16 * Parallel.threads())));
    }

    private static float scale(MemorySegment scales, long idx) {
        return Float.float16ToFloat(scales.getAtIndex(I16, idx));
    }

    private static int zero(MemorySegment zeros, int bits, long idx) {
        return zeros == null ? 1 << (bits - 1) : zeros.get(ValueLayout.JAVA_BYTE, idx) & 0xff;
    }

    /**
     * Per-thread buffers for a decode task's scales, zero points and zero-point terms, grown on demand: a
     * decoded token runs some two thousand tasks, and fresh arrays for each were most of its garbage.
     */
    private static final class Scratch {
        private static final ThreadLocal<Scratch> OF_THREAD = ThreadLocal.withInitial(Scratch::new);
        float[] scales = new float[0], corrections = new float[0];
        short[] halves = new short[0];
        byte[] zeros = new byte[0];

        /** This thread's buffers, at least {@code params} scales and zero points and {@code rows} terms. */
        static Scratch of(int params, int rows) {
            Scratch s = OF_THREAD.get();
            if (s.scales.length < params) {
                s.scales = new float[params];
                s.halves = new short[params];
                s.zeros = new byte[params];
            }
            if (s.corrections.length < rows) s.corrections = new float[rows];
            return s;
        }
    }

    /**
     * Rows [o0, o1)'s group scales into sc[(o - o0) * groups + g] and their zero-point terms, sum over
     * groups of s * (z - zRead) * (sum of x over the group), into corr[o - o0], where zRead is the zero
     * point the kernels' code widening already removes (128 for 8-bit codes read as signed). Read in bulk
     * here, outside the kernels: a scale read from the segment inside a kernel loop halved its speed, and
     * reading them row by row cost a tenth of the decode time.
     */
    private static void chunkParams(int o0, int o1, int groups, int bits, MemorySegment scales, MemorySegment zeros,
                                    float[] xs, Scratch scratch) {
        float[] sc = scratch.scales, corr = scratch.corrections;
        int n = (o1 - o0) * groups;
        // Copied to the heap, then widened: C2 vectorises Float.float16ToFloat over an array, not over segment
        // reads one element at a time (reading them so, this method drew a tenth of the packed kernels' JFR
        // samples; the change alone was within the machine's noise on decode speed).
        short[] h = scratch.halves;
        MemorySegment.copy(scales, I16, (long) o0 * groups * Short.BYTES, h, 0, n);
        for (int k = 0; k < n; k++) sc[k] = Float.float16ToFloat(h[k]);
        byte[] z = null;
        if (zeros != null) {
            z = scratch.zeros;
            MemorySegment.copy(zeros, ValueLayout.JAVA_BYTE, (long) o0 * groups, z, 0, n);
        }
        int zRead = bits == 8 ? 128 : 0, symmetric = 1 << (bits - 1);
        for (int t = 0; t < o1 - o0; t++) {
            float c = 0;
            for (int g = 0; g < groups; g++) {
                int k = t * groups + g;
                c += sc[k] * ((z == null ? symmetric : z[k] & 0xff) - zRead) * xs[g];
            }
            corr[t] = c;
        }
    }

    // The kernels take one row at a time: decoding streams the weight from memory, and four rows at once
    // (sharing each input load) ran 1.2-1.6x slower there, though faster on weights that stay in cache.

    /**
     * Sum over groups of s * sum (q - 128) x for row o of 8-bit codes (its scales from sc[sOff]), read as
     * signed so the byte-to-float widening is exact. Eight vectors per iteration into four accumulators:
     * two per iteration left the loop's own overhead and the multiply-add latency exposed, and ran 1.4-1.6x
     * slower.
     */
    private static float dot8(float[] x, int xo, int in, int group, MemorySegment codes, float[] sc, int sOff,
                              int o) {
        int groups = in / group;
        long r0 = (long) o * in;
        FloatVector total = FloatVector.zero(F);
        for (int g = 0; g < groups; g++) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int i = g * group, end = (g + 1) * group;
            for (; i + 8 * L <= end; i += 8 * L) {
                a0 = signed8(codes, r0 + i).fma(FloatVector.fromArray(F, x, xo + i), a0);
                a1 = signed8(codes, r0 + i + L).fma(FloatVector.fromArray(F, x, xo + i + L), a1);
                a2 = signed8(codes, r0 + i + 2 * L).fma(FloatVector.fromArray(F, x, xo + i + 2 * L), a2);
                a3 = signed8(codes, r0 + i + 3 * L).fma(FloatVector.fromArray(F, x, xo + i + 3 * L), a3);
                a0 = signed8(codes, r0 + i + 4 * L).fma(FloatVector.fromArray(F, x, xo + i + 4 * L), a0);
                a1 = signed8(codes, r0 + i + 5 * L).fma(FloatVector.fromArray(F, x, xo + i + 5 * L), a1);
                a2 = signed8(codes, r0 + i + 6 * L).fma(FloatVector.fromArray(F, x, xo + i + 6 * L), a2);
                a3 = signed8(codes, r0 + i + 7 * L).fma(FloatVector.fromArray(F, x, xo + i + 7 * L), a3);
            }
            for (; i < end; i += L) { // groups that are not a multiple of eight vectors
                a0 = signed8(codes, r0 + i).fma(FloatVector.fromArray(F, x, xo + i), a0);
            }
            total = a0.add(a1).add(a2.add(a3)).fma(FloatVector.broadcast(F, sc[sOff + g]), total);
        }
        return total.reduceLanes(VectorOperators.ADD);
    }

    /** L 8-bit codes from byte {@code off} as floats q - 128. */
    private static FloatVector signed8(MemorySegment codes, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, codes, off, ByteOrder.LITTLE_ENDIAN)
                .lanewise(VectorOperators.XOR, (byte) 0x80).convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * Sum over groups of s * sum q x for row o of 4-bit codes (its scales from sc[sOff]): each L bytes hold L
     * even and L odd columns, dotted with the split inputs. Bytes are zero-extended to int lanes before the
     * nibbles are taken apart: x86 has no byte shift, and the emulated one made the kernel half as fast.
     * Four byte vectors (128 weights) per iteration into four accumulators, the group scale applied once
     * per group: 1.05-1.10x a loop of one byte vector that scaled the inputs at every step (decode of the
     * OPT-125M shape, 6 of 8 paired runs). The nibble conversions stay written out: moved into helpers
     * returning vectors, C2 left them boxed and the kernel ran at a third of the speed.
     */
    private static float dot4(float[] xe, float[] xodd, int in, int group, MemorySegment codes, float[] sc,
                              int sOff, int o) {
        int bytes = (in + 1) / 2, groupBytes = group / 2;
        long r0 = (long) o * bytes;
        FloatVector total = FloatVector.zero(F);
        for (int g = 0, i = 0; i < bytes; g++) {
            FloatVector lo0 = FloatVector.zero(F), hi0 = lo0, lo1 = lo0, hi1 = lo0;
            int end = i + groupBytes;
            for (; i + 4 * L <= end; i += 4 * L) {
                IntVector q0 = codes4(codes, r0 + i), q1 = codes4(codes, r0 + i + L);
                IntVector q2 = codes4(codes, r0 + i + 2 * L), q3 = codes4(codes, r0 + i + 3 * L);
                lo0 = ((FloatVector) q0.and(0x0f).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xe, i), lo0);
                hi0 = ((FloatVector) q0.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xodd, i), hi0);
                lo1 = ((FloatVector) q1.and(0x0f).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xe, i + L), lo1);
                hi1 = ((FloatVector) q1.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xodd, i + L), hi1);
                lo0 = ((FloatVector) q2.and(0x0f).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xe, i + 2 * L), lo0);
                hi0 = ((FloatVector) q2.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xodd, i + 2 * L), hi0);
                lo1 = ((FloatVector) q3.and(0x0f).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xe, i + 3 * L), lo1);
                hi1 = ((FloatVector) q3.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xodd, i + 3 * L), hi1);
            }
            for (; i < end; i += L) { // groups that are not a multiple of 128 weights
                IntVector q = codes4(codes, r0 + i);
                lo0 = ((FloatVector) q.and(0x0f).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xe, i), lo0);
                hi0 = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xodd, i), hi0);
            }
            total = lo0.add(hi0).add(lo1.add(hi1)).fma(FloatVector.broadcast(F, sc[sOff + g]), total);
        }
        return total.reduceLanes(VectorOperators.ADD);
    }

    /** L bytes of 4-bit codes from byte {@code off}, zero-extended to int lanes. */
    private static IntVector codes4(MemorySegment codes, long off) {
        return (IntVector) ByteVector.fromMemorySegment(B, codes, off, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
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
