package cptquant.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
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
    /** Columns of 4-bit codes one int vector load covers: each int lane holds eight consecutive columns. */
    private static final int BLOCK = 8 * L;
    /** 16^-k: the 4-bit kernel widens nibble k in place, as q * 16^k, so its inputs carry the inverse. */
    private static final float[] NIBBLE_WEIGHT = {1, 0x1p-4f, 0x1p-8f, 0x1p-12f, 0x1p-16f, 0x1p-20f, 0x1p-24f, 1};

    /** Below this many rows the fused decode-in-registers path is used. */
    static final int FUSED_MAX_ROWS = 8;

    /**
     * What the decode path reads besides the codes, widened once per weight from the FP16 scales and byte zero
     * points: the scales as floats (row-major, L spare entries for dot4's vector load from a row's last
     * block), for 4-bit groups longer than a block one per block (see {@link #rowScales}), and each group's
     * zero-point term s * (z - zRead), where zRead is the zero point the kernels' code widening already
     * removes (128 for 8-bit codes read as signed), or null when every term is zero.
     * The terms lie in tiles of L rows, each tile group by group, so a task sums them L rows per vector over
     * one contiguous read. Widening FP16 scales and summing the terms in a scalar loop per decode task instead
     * cost a sixth of the 4-bit kernel's time (the loop, a chain of dependent adds, ran at a tenth of the
     * vector sum's speed).
     */
    public record DecodeParams(float[] scales, float[] zeroTerms) {}

    /** The decode parameters of an out x in weight (layout as in {@link #matmul}). */
    public static DecodeParams decodeParams(int in, int bits, int group, MemorySegment scales, MemorySegment zeros,
                                            int out) {
        int groups = in / group, n = Math.multiplyExact(out, groups), perRow = rowScales(in, bits, group);
        float[] gs = new float[Math.addExact(n, L)];
        FloatFormat.F16.get(scales, 0, gs, 0, n);
        float[] sc = gs;
        if (perRow != groups) {
            sc = new float[Math.addExact(Math.multiplyExact(out, perRow), L)];
            for (int k = 0; k < out * perRow; k++) sc[k] = gs[k / perRow * groups + k % perRow * BLOCK / group];
        }
        int zRead = bits == 8 ? 128 : 0;
        if (zeros == null && 1 << (bits - 1) == zRead) return new DecodeParams(sc, null);
        float[] zt = new float[Math.multiplyExact((out + L - 1) / L * L, groups)];
        for (int o = 0; o < out; o++) {
            for (int g = 0; g < groups; g++) {
                int k = o * groups + g;
                zt[(o - o % L) * groups + g * L + o % L] = gs[k] * (zero(zeros, bits, k) - zRead);
            }
        }
        return new DecodeParams(sc, zt);
    }

    /**
     * Scales per row in {@link DecodeParams#scales}: one per group, except for 4-bit groups longer than a
     * block, which get one per block so that dot4 steps through them without a branch per block.
     */
    private static int rowScales(int in, int bits, int group) {
        return bits == 4 && group > BLOCK ? (in + BLOCK - 1) / BLOCK : in / group;
    }

    /**
     * @param zeros  out x groups bytes, or null for symmetric codes (zero point 2^(bits-1))
     * @param params {@link #decodeParams} of this weight; read only when decoding (rows below FUSED_MAX_ROWS)
     */
    public static void matmul(float[] x, int rows, int in, int bits, int group, MemorySegment codes,
                              MemorySegment scales, MemorySegment zeros, int out, float[] y,
                              Supplier<DecodeParams> params) {
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
        int perRow = rowScales(in, bits, group);
        // 4-bit: a lane's eight columns must share a group, and a block must lie inside one group or hold
        // whole groups, except at the row's end.
        boolean vector = bits == 8 ? group % L == 0
                : in % 8 == 0 && group % 8 == 0 && (group % BLOCK == 0 || BLOCK % group == 0 || group == in);
        VectorShuffle<Float> laneGroups = bits == 4 && vector && group < BLOCK
                ? VectorShuffle.fromOp(F, j -> 8 * j / group) : null;
        // A 4-bit row whose last block runs past its end reads on into the next row's codes, which meet zero
        // inputs; only the last rows, where that read would leave the segment, take the scalar path.
        int blockRows = bits == 4 && vector
                ? (int) Math.min(out, Math.floorDiv(codes.byteSize() - padded(in) / 2, in / 2) + 1) : out;
        DecodeParams p = vector ? params.get() : null;
        for (int r = 0; r < rows; r++) {
            final int row = r;
            // Per-row input prepared once: group sums (for the zero-point terms) and, for 4-bit, the input in
            // the order the kernel widens the codes.
            float[] xs = vector ? groupSums(x, row * in, in, group) : null;
            float[] xb = bits == 4 && vector ? blockInputs(x, row * in, in) : null;
            int chunk = chunkRows(out);
            Parallel.forRange((out + chunk - 1) / chunk, c -> {
                int o0 = c * chunk, o1 = Math.min(out, o0 + chunk);
                // Rows the vector kernels take; the rest (none, or a 4-bit tensor's last rows) go scalar.
                int v1 = vector ? Math.min(o1, blockRows) : o0;
                if (v1 > o0) {
                    Scratch scratch = Scratch.of((o1 - o0) * perRow + L, o1 - o0 + L);
                    // Copied, not read in place: a kernel waiting on a scale from memory at each group's end ran
                    // a quarter slower on weights streamed from memory.
                    System.arraycopy(p.scales(), o0 * perRow, scratch.scales, 0, (o1 - o0) * perRow);
                    zeroTerms(p.zeroTerms(), xs, o0, o1, scratch.corrections);
                    if (bits == 8) dot8(x, row * in, in, group, codes, scratch, o0, v1, y, row * out);
                    else dot4(xb, in, group, perRow, codes, scratch, laneGroups, o0, v1, y, row * out);
                }
                for (int o = v1; o < o1; o++) {
                    y[row * out + o] = dotScalar(x, row * in, in, bits, group, codes, scales, zeros, o);
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
        return Math.max(L, Math.min(CHUNK, out / (16 * Parallel.threads())) / L * L);
    }

    private static int zero(MemorySegment zeros, int bits, long idx) {
        return zeros == null ? 1 << (bits - 1) : zeros.get(ValueLayout.JAVA_BYTE, idx) & 0xff;
    }

    /**
     * Per-thread buffers for a decode task's scales and zero-point terms, grown on demand: a decoded token
     * runs some two thousand tasks, and fresh arrays for each were most of its garbage.
     */
    private static final class Scratch {
        private static final ThreadLocal<Scratch> OF_THREAD = ThreadLocal.withInitial(Scratch::new);
        float[] scales = new float[0], corrections = new float[0];

        /** This thread's buffers, at least {@code params} scales and {@code rows} terms. */
        static Scratch of(int params, int rows) {
            Scratch s = OF_THREAD.get();
            if (s.scales.length < params) s.scales = new float[params];
            if (s.corrections.length < rows) s.corrections = new float[rows];
            return s;
        }
    }

    /**
     * Rows [o0, o1)'s zero-point terms, sum over groups g of s * (z - zRead) * xs[g], into corr from 0 (o0 a
     * multiple of L, as every task's first row is; corr holds o1 - o0 rounded up to L).
     */
    private static void zeroTerms(float[] zt, float[] xs, int o0, int o1, float[] corr) {
        int groups = xs.length;
        for (int t = 0; t < o1 - o0; t += L) {
            FloatVector c = FloatVector.zero(F);
            if (zt != null) {
                for (int g = 0, k = (o0 + t) * groups; g < groups; g++, k += L) {
                    c = FloatVector.fromArray(F, zt, k).fma(FloatVector.broadcast(F, xs[g]), c);
                }
            }
            c.intoArray(corr, t);
        }
    }

    // The kernels run over a task's rows, one row at a time: a call per row (its set-up, the mask constants
    // loaded afresh) cost the 4-bit kernel 7-18 %. Four rows at once (sharing each input load) ran 1.2-1.6x
    // slower when decoding streams the weight from memory, though faster on weights that stay in cache; two
    // rows at once, each streaming its half of the task with its codes loaded a block ahead, 0.98x.

    /**
     * y[yOff + o] for rows [o0, o1) of 8-bit codes: sum over groups of s * sum (q - 128) x, less the row's
     * zero-point term (scales and terms from the task's scratch, from row o0). Codes are read as signed so the
     * byte-to-float widening is exact. Eight vectors per iteration into four accumulators: two per iteration
     * left the loop's own overhead and the multiply-add latency exposed, and ran 1.4-1.6x slower.
     */
    private static void dot8(float[] x, int xo, int in, int group, MemorySegment codes, Scratch scratch, int o0,
                             int o1, float[] y, int yOff) {
        int groups = in / group;
        float[] sc = scratch.scales;
        for (int o = o0; o < o1; o++) {
            long r0 = (long) o * in;
            int sOff = (o - o0) * groups;
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
            y[yOff + o] = total.reduceLanes(VectorOperators.ADD) - scratch.corrections[o - o0];
        }
    }

    /** L 8-bit codes from byte {@code off} as floats q - 128. */
    private static FloatVector signed8(MemorySegment codes, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, codes, off, ByteOrder.LITTLE_ENDIAN)
                .lanewise(VectorOperators.XOR, (byte) 0x80).convertShape(VectorOperators.B2F, F, 0);
    }

    /** Sums of x[off, off + in) over each group of {@code group} inputs. */
    private static float[] groupSums(float[] x, int off, int in, int group) {
        float[] xs = new float[in / group];
        for (int g = 0; g < xs.length; g++) xs[g] = Ops.sum(x, off + g * group, group, 0f, false);
        return xs;
    }

    /** Gather offsets 0, 8, 16, ...: lane j of a block's nibble-k inputs is column 8j + k. */
    private static final int[] EIGHTH_LANES = IntStream.range(0, L).map(j -> 8 * j).toArray();

    private static int padded(int in) { return (in + BLOCK - 1) / BLOCK * BLOCK; }

    /**
     * The {@code in} inputs from x[off] in dot4's order: per block of BLOCK columns, column 8j + k (nibble k
     * of lane j) at k * L + j, times NIBBLE_WEIGHT[k] (exact: a power of two); zeros pad the last block.
     */
    private static float[] blockInputs(float[] x, int off, int in) {
        float[] xb = new float[padded(in)];
        int b = 0;
        for (; b + BLOCK <= in; b += BLOCK) {
            for (int k = 0; k < 8; k++) {
                FloatVector.fromArray(F, x, off + b + k, EIGHTH_LANES, 0).mul(NIBBLE_WEIGHT[k])
                        .intoArray(xb, b + k * L);
            }
        }
        for (; b < in; b += BLOCK) {
            for (int k = 0; k < 8; k++) {
                for (int j = 0; j < L && b + 8 * j + k < in; j++) {
                    xb[b + k * L + j] = x[off + b + 8 * j + k] * NIBBLE_WEIGHT[k];
                }
            }
        }
        return xb;
    }

    /**
     * y[yOff + o] for rows [o0, o1) of 4-bit codes: sum over groups of s * sum q x, less the row's zero-point
     * term (scales and terms from the task's scratch, from row o0, perRow to a row), xb from blockInputs.
     * Each int lane of a load holds eight columns, a byte's low nibble the even one; nibble k is masked in
     * place and converted as q * 16^k (exact), the input carrying 16^-k, so a weight costs an AND, a
     * conversion and a multiply-add, with no shuffle and no shift (the last nibble is shifted down instead:
     * masked, it would be negative). Widening bytes to int lanes first and shifting the nibbles apart ran
     * 1.2-1.3x slower single-threaded. Scales apply once per block: a group's, one per block of a longer
     * group, or, for groups smaller than a block, each lane's moved into place by laneGroups (applying them
     * only where a longer group ends cost a branch per block: 5 % in cache). One flat loop over blocks:
     * nested group and block loops, or a masked load for a row's last block, cost 11-27 %. A last block that
     * runs past the row reads the next row's codes against the zero padding of xb.
     */
    private static void dot4(float[] xb, int in, int group, int perRow, MemorySegment codes, Scratch scratch,
                             VectorShuffle<Float> laneGroups, int o0, int o1, float[] y, int yOff) {
        int step = laneGroups == null ? 1 : BLOCK / group;
        float[] sc = scratch.scales;
        long rowBytes = in / 2, last = (o1 - 1) * rowBytes + (in - 1) / BLOCK * (BLOCK / 2);
        long at = o0 * rowBytes + BLOCK / 2;
        // Each block's codes are loaded two blocks ahead (at: where the one further ahead came from), so the
        // multiply-adds of a block whose load misses the cache do not fill the scheduler while later loads
        // wait behind them: one block ahead ran 1.15-1.35x faster on weights streamed from memory and decoded
        // 1.07x faster; two ahead decoded a further 1.05x faster, four ahead 1.01x.
        IntVector next = IntVector.fromMemorySegment(I, codes, o0 * rowBytes, ByteOrder.LITTLE_ENDIAN);
        IntVector next2 = IntVector.fromMemorySegment(I, codes, Math.min(at, last), ByteOrder.LITTLE_ENDIAN);
        for (int o = o0; o < o1; o++) {
            long r0 = o * rowBytes;
            if (at != r0 + BLOCK / 2) { // the row before ended in a partial block: the loads ahead overshot
                next = IntVector.fromMemorySegment(I, codes, r0, ByteOrder.LITTLE_ENDIAN);
                at = r0 + BLOCK / 2;
                next2 = IntVector.fromMemorySegment(I, codes, Math.min(at, last), ByteOrder.LITTLE_ENDIAN);
            }
            FloatVector total = FloatVector.zero(F);
            for (int b = 0, g = (o - o0) * perRow; b < in; b += BLOCK, g += step) {
                IntVector q = next;
                next = next2;
                at += BLOCK / 2;
                next2 = IntVector.fromMemorySegment(I, codes, Math.min(at, last), ByteOrder.LITTLE_ENDIAN);
                FloatVector a0 = ((FloatVector) q.and(0xf).convert(VectorOperators.I2F, 0))
                        .mul(FloatVector.fromArray(F, xb, b));
                FloatVector a1 = ((FloatVector) q.and(0xf0).convert(VectorOperators.I2F, 0))
                        .mul(FloatVector.fromArray(F, xb, b + L));
                FloatVector a2 = ((FloatVector) q.and(0xf00).convert(VectorOperators.I2F, 0))
                        .mul(FloatVector.fromArray(F, xb, b + 2 * L));
                FloatVector a3 = ((FloatVector) q.and(0xf000).convert(VectorOperators.I2F, 0))
                        .mul(FloatVector.fromArray(F, xb, b + 3 * L));
                a0 = ((FloatVector) q.and(0xf0000).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xb, b + 4 * L), a0);
                a1 = ((FloatVector) q.and(0xf00000).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xb, b + 5 * L), a1);
                a2 = ((FloatVector) q.and(0xf000000).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xb, b + 6 * L), a2);
                a3 = ((FloatVector) q.lanewise(VectorOperators.LSHR, 28).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, xb, b + 7 * L), a3);
                FloatVector s = laneGroups == null ? FloatVector.broadcast(F, sc[g])
                        : FloatVector.fromArray(F, sc, g).rearrange(laneGroups);
                total = a0.add(a1).add(a2.add(a3)).fma(s, total);
            }
            y[yOff + o] = total.reduceLanes(VectorOperators.ADD) - scratch.corrections[o - o0];
        }
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
            float s = FloatFormat.F16.get(scales, (long) o * groups + g);
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
