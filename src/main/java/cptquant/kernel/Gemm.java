package cptquant.kernel;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * c = a b^T for a row-major m x k activation and an n x k weight in the PyTorch Linear layout, the weight
 * stored as F32, F16 or BF16 ({@link FloatFormat}). {@link GemmReference} is the plain oracle the tests
 * compare against.
 *
 * <p><b>Many rows (m &ge; {@value #GEMV_MAX_ROWS}): register-blocked GEMM</b> (the BLIS scheme, less A
 * packing). B is transposed once into panels of {@code NR = 2} vectors of output columns, k-major,
 * zero-padded at the right edge; A is read in place, six rows at a time (a tile short of six rows
 * repeats its last row). Packing A as BLIS does measured no faster on the MiniLM shapes (k = 384 and
 * 1536) and half as fast on attention's small per-head products, where it cost a tenth of the time.
 * The microkernel keeps a 6 x 2-vector tile of C in 12 registers and for each p
 * broadcasts six a values against two B vectors: 12 FMAs per 2 vector loads + 6 broadcasts, so it runs
 * at FMA throughput rather than load throughput. Alone it measures ~105-113 GFLOPS per core on the
 * AMD EPYC (Zen 4: AVX-512 on 256-bit FMA pipes, 32 flops/cycle, so that is its peak); 8x3, 12x2, 4x4
 * and 6x4 tiles measured the same, so the tile with the fewest registers stays. B's zero padding and A's
 * repeated last row mean the microkernel never branches on edges; only the final store of a partial tile
 * is clipped. Cache blocking, from the inside out:
 * <ul>
 *   <li>{@code KC = 128}: one B micro-panel (KC x NR floats = 16 KiB at AVX-512) stays in a 32 KiB L1
 *       next to six A row pieces (3 KiB) while the microkernel sweeps all MR-row groups of the A
 *       block over it (KC = 256 filled L1 and measured ~40% slower on the 2-core AMD EPYC);</li>
 *   <li>{@code MC = 96} rows: the A block's pieces (MC x KC = 48 KiB) stay in L2 across all B panels of
 *       the task;</li>
 *   <li>{@code NC = 512} columns: the B block a task touches per K step (KC x NC = 256 KiB) fits a
 *       1 MiB L2.</li>
 * </ul>
 * Tasks are (MC row block, NC column block) pairs, independent because each owns a tile of C, and
 * are spread over {@link Parallel}. C is written by the first K block and accumulated by later ones.
 *
 * <p><b>Few rows (decoding): GEMV.</b> Packing B would cost as much as the multiply itself, and the
 * work is bound by reading B, so each B row is read once per group of four A rows and dotted with all
 * four while it is in registers (vectorised over k, two B rows at a time: 8 FMAs per 6 loads; a group
 * short of four repeats its last row rather than branching). K is blocked by {@value #GEMV_KB} so the
 * four A row pieces stay in L1; with whole rows (k = 4096: 64 KiB) they were re-read from L2 on every
 * B row and the path ran at half the speed. A single A row (decoding one token) is dotted with one whole
 * B row at a time instead: streaming from memory, that outran every multi-row variant. 16-bit B is read
 * as stored and widened to floats in registers, so it streams half the bytes of F32; the GEMM path widens
 * it while packing. Neither keeps an FP32 copy of the weight.
 */
public final class Gemm {
    private Gemm() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final int MR = 6;
    private static final int NR = 2 * L;
    private static final int KC = 128;
    private static final int MC = 16 * MR;
    private static final int NC_PANELS = Math.max(1, 512 / NR);
    /** Below this many rows the GEMV path is used. */
    static final int GEMV_MAX_ROWS = 8;
    private static final int GEMV_CHUNK = 64;
    /** K block of the GEMV: four A rows of it (16 KiB) stay in L1 while B rows stream past. */
    private static final int GEMV_KB = 1024;

    /**
     * c[i][j] = sum_p a[i][p] * b[j][p]: a is m x k (row-major heap array), b is n x k in {@code format}
     * (little-endian, row-major; the PyTorch Linear layout), c is m x n (overwritten). A b on the Java heap
     * always takes the GEMM path: C2 compiles the GEMV's segment loads for the kinds of segment it has
     * seen, and once heap segments (attention's small products, BERT's arrays) had gone through it, the
     * GEMV over mapped weights ran 1.6-2.3x slower for the rest of the process.
     */
    public static void matmulTransB(float[] a, int m, int k, MemorySegment b, FloatFormat format, int n, float[] c) {
        if (m <= 0 || n <= 0) return;
        if (k == 0) {
            Arrays.fill(c, 0, m * n, 0f);
        } else if (m < GEMV_MAX_ROWS && b.isNative()) {
            gemv(a, m, k, b, format, n, c);
        } else {
            gemm(a, m, k, packB(b, format, n, k), n, c);
        }
    }

    /** As {@link #matmulTransB(float[], int, int, MemorySegment, FloatFormat, int, float[])} with b F32. */
    public static void matmulTransB(float[] a, int m, int k, MemorySegment b, int n, float[] c) {
        matmulTransB(a, m, k, b, FloatFormat.F32, n, c);
    }

    /**
     * As {@link #matmulTransB(float[], int, int, MemorySegment, FloatFormat, int, float[])} with b a heap n x k
     * array.
     */
    public static void matmulTransB(float[] a, int m, int k, float[] b, int n, float[] c) {
        matmulTransB(a, m, k, MemorySegment.ofArray(b), FloatFormat.F32, n, c);
    }

    // ---- GEMM path -------------------------------------------------------------------------------

    /** B as panels of NR columns: bp[(panel * k + p) * NR + jj] = b[panel * NR + jj][p], zero past n. */
    private static float[] packB(MemorySegment b, FloatFormat format, int n, int k) {
        int panels = (n + NR - 1) / NR;
        float[] bp = new float[Math.multiplyExact(panels * NR, k)];
        Parallel.forRange(panels, panel -> {
            int base = panel * k * NR;
            for (int jj = 0; jj < NR && panel * NR + jj < n; jj++) {
                long row = (long) (panel * NR + jj) * k;
                for (int p = 0; p < k; p++) bp[base + p * NR + jj] = format.get(b, row + p);
            }
        });
        return bp;
    }

    private static void gemm(float[] a, int m, int k, float[] bp, int n, float[] c) {
        int panels = (n + NR - 1) / NR;
        int rowBlocks = (m + MC - 1) / MC;
        int colBlocks = (panels + NC_PANELS - 1) / NC_PANELS;
        Parallel.forRange(rowBlocks * colBlocks, t -> {
            int i0 = (t / colBlocks) * MC, i1 = Math.min(m, i0 + MC);
            int p0 = (t % colBlocks) * NC_PANELS, p1 = Math.min(panels, p0 + NC_PANELS);
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kc = Math.min(KC, k - k0);
                for (int panel = p0; panel < p1; panel++) {
                    int j0 = panel * NR, cols = Math.min(NR, n - j0);
                    int bOff = (panel * k + k0) * NR;
                    for (int i = i0; i < i1; i += MR) {
                        kernel(a, k, m, i, k0, bp, bOff, kc, c, i * n + j0, n, Math.min(MR, i1 - i), cols, k0 == 0);
                    }
                }
            }
        });
    }

    /**
     * The MR x NR tile of C at cOff (+)= rows i..i+MR-1 of a over columns [k0, k0+kc) times the B
     * micro-panel (kc x NR at bOff); only {@code rows} x {@code cols} of it is stored. A is read in place:
     * six row streams stay in L1 across the KC block, and packing them cost a tenth of the encoder's
     * time. Rows past m repeat the last row (computed, not stored), so the loop never branches.
     */
    private static void kernel(float[] a, int k, int m, int i, int k0, float[] bp, int bOff, int kc, float[] c,
                               int cOff, int ldc, int rows, int cols, boolean first) {
        int a0 = i * k + k0, a1 = Math.min(i + 1, m - 1) * k + k0, a2 = Math.min(i + 2, m - 1) * k + k0;
        int a3 = Math.min(i + 3, m - 1) * k + k0, a4 = Math.min(i + 4, m - 1) * k + k0;
        int a5 = Math.min(i + 5, m - 1) * k + k0;
        // A full tile after the first K block starts from C, so every accumulator is stored with one
        // intoArray: a helper taking the vectors would box them and run its add in the generic fallback.
        boolean full = rows == MR && cols == NR, load = full && !first;
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = load ? FloatVector.fromArray(F, c, cOff) : z;
        FloatVector c01 = load ? FloatVector.fromArray(F, c, cOff + L) : z;
        FloatVector c10 = load ? FloatVector.fromArray(F, c, cOff + ldc) : z;
        FloatVector c11 = load ? FloatVector.fromArray(F, c, cOff + ldc + L) : z;
        FloatVector c20 = load ? FloatVector.fromArray(F, c, cOff + 2 * ldc) : z;
        FloatVector c21 = load ? FloatVector.fromArray(F, c, cOff + 2 * ldc + L) : z;
        FloatVector c30 = load ? FloatVector.fromArray(F, c, cOff + 3 * ldc) : z;
        FloatVector c31 = load ? FloatVector.fromArray(F, c, cOff + 3 * ldc + L) : z;
        FloatVector c40 = load ? FloatVector.fromArray(F, c, cOff + 4 * ldc) : z;
        FloatVector c41 = load ? FloatVector.fromArray(F, c, cOff + 4 * ldc + L) : z;
        FloatVector c50 = load ? FloatVector.fromArray(F, c, cOff + 5 * ldc) : z;
        FloatVector c51 = load ? FloatVector.fromArray(F, c, cOff + 5 * ldc + L) : z;
        for (int p = 0; p < kc; p++) {
            int bi = bOff + p * NR;
            FloatVector b0 = FloatVector.fromArray(F, bp, bi);
            FloatVector b1 = FloatVector.fromArray(F, bp, bi + L);
            FloatVector av = FloatVector.broadcast(F, a[a0 + p]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(F, a[a1 + p]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(F, a[a2 + p]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(F, a[a3 + p]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(F, a[a4 + p]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(F, a[a5 + p]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        // A partial tile goes through a scratch tile: storing the accumulators one by one (never into an
        // array of vectors) keeps them unboxed in registers, which C2 needs for the loop above to stay fast.
        float[] dst = full ? c : new float[MR * NR];
        int off = full ? cOff : 0, ld = full ? ldc : NR;
        c00.intoArray(dst, off);
        c01.intoArray(dst, off + L);
        c10.intoArray(dst, off + ld);
        c11.intoArray(dst, off + ld + L);
        c20.intoArray(dst, off + 2 * ld);
        c21.intoArray(dst, off + 2 * ld + L);
        c30.intoArray(dst, off + 3 * ld);
        c31.intoArray(dst, off + 3 * ld + L);
        c40.intoArray(dst, off + 4 * ld);
        c41.intoArray(dst, off + 4 * ld + L);
        c50.intoArray(dst, off + 5 * ld);
        c51.intoArray(dst, off + 5 * ld + L);
        if (full) return;
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                int o = cOff + r * ldc + j;
                c[o] = first ? dst[r * NR + j] : c[o] + dst[r * NR + j];
            }
        }
    }

    // ---- GEMV path -------------------------------------------------------------------------------

    private static void gemv(float[] a, int m, int k, MemorySegment b, FloatFormat format, int n, float[] c) {
        Parallel.forRange((n + GEMV_CHUNK - 1) / GEMV_CHUNK, chunk -> {
            int j0 = chunk * GEMV_CHUNK, j1 = Math.min(n, j0 + GEMV_CHUNK);
            if (m == 1) {
                for (int j = j0; j < j1; j++) dot1(a, b, format, k, j, c);
                return;
            }
            int[] rows = new int[4];
            float[] sums = new float[8];
            for (int p0 = 0; p0 < k; p0 += GEMV_KB) {
                int p1 = Math.min(k, p0 + GEMV_KB);
                for (int i = 0; i < m; i += 4) {
                    for (int t = 0; t < 4; t++) rows[t] = Math.min(i + t, m - 1) * k;
                    for (int j = j0; j < j1; j += 2) dot4x2(a, m, i, rows, b, format, k, j, n, p0, p1, c, sums);
                }
            }
        });
    }

    /**
     * Over p in [p0, p1): c[i..i+3][j..j+1] (+)= the a rows starting at rows[0..3] dotted with b rows j,
     * j+1. Rows past m or n are clamped to the last one (computed, not stored), so every call runs the same
     * 8-accumulator loop. r is scratch for the eight sums.
     */
    private static void dot4x2(float[] a, int m, int i, int[] rows, MemorySegment b, FloatFormat format, int k,
                               int j, int n, int p0, int p1, float[] c, float[] r) {
        long b0 = (long) j * k, b1 = (long) Math.min(j + 1, n - 1) * k;
        int p = switch (format) {
            case F32 -> dot4x2F32(a, rows, b, b0, b1, p0, p1, r);
            case F16 -> dot4x2F16(a, rows, b, b0, b1, p0, p1, r);
            case BF16 -> dot4x2BF16(a, rows, b, b0, b1, p0, p1, r);
        };
        for (; p < p1; p++) {
            float w0 = format.get(b, b0 + p), w1 = format.get(b, b1 + p);
            for (int t = 0; t < 4; t++) {
                r[2 * t] += a[rows[t] + p] * w0;
                r[2 * t + 1] += a[rows[t] + p] * w1;
            }
        }
        for (int t = 0; t < 4 && i + t < m; t++) {
            for (int u = 0; u < 2 && j + u < n; u++) {
                int o = (i + t) * n + j + u;
                c[o] = p0 == 0 ? r[2 * t + u] : c[o] + r[2 * t + u];
            }
        }
    }

    /**
     * Decoding's single a row: c[j] = a dotted with b row j. One b row at a time, with two accumulators
     * over alternate vectors: dotting two rows at once (sharing each a load) measured 1.25x slower on F32
     * and 2.2x slower on F16 weights streaming from memory, as for the packed kernels; and dot4x2 would
     * repeat the row four times, three quarters of its multiply-adds wasted.
     */
    private static void dot1(float[] a, MemorySegment b, FloatFormat format, int k, int j, float[] c) {
        long b0 = (long) j * k;
        int p = k - k % (2 * L);
        float s = switch (format) {
            case F32 -> dot1F32(a, b, b0, p);
            case F16 -> dot1F16(a, b, b0, p);
            case BF16 -> dot1BF16(a, b, b0, p);
        };
        for (; p < k; p++) s += a[p] * format.get(b, b0 + p);
        c[j] = s;
    }

    // The vector loops of dot1, over [0, end) with end a multiple of 2L, one per format for the reason
    // given below for dot4x2's.

    private static float dot1F32(float[] a, MemorySegment b, long b0, int end) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (int p = 0; p < end; p += 2 * L) {
            s0 = FloatVector.fromArray(F, a, p)
                    .fma(FloatVector.fromMemorySegment(F, b, (b0 + p) * Float.BYTES, ByteOrder.LITTLE_ENDIAN), s0);
            s1 = FloatVector.fromArray(F, a, p + L)
                    .fma(FloatVector.fromMemorySegment(F, b, (b0 + p + L) * Float.BYTES, ByteOrder.LITTLE_ENDIAN), s1);
        }
        return s0.add(s1).reduceLanes(VectorOperators.ADD);
    }

    private static float dot1F16(float[] a, MemorySegment b, long b0, int end) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (int p = 0; p < end; p += 2 * L) {
            s0 = FloatVector.fromArray(F, a, p).fma(FloatFormat.loadF16(b, b0 + p), s0);
            s1 = FloatVector.fromArray(F, a, p + L).fma(FloatFormat.loadF16(b, b0 + p + L), s1);
        }
        return s0.add(s1).reduceLanes(VectorOperators.ADD);
    }

    private static float dot1BF16(float[] a, MemorySegment b, long b0, int end) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (int p = 0; p < end; p += 2 * L) {
            s0 = FloatVector.fromArray(F, a, p).fma(FloatFormat.loadBF16(b, b0 + p), s0);
            s1 = FloatVector.fromArray(F, a, p + L).fma(FloatFormat.loadBF16(b, b0 + p + L), s1);
        }
        return s0.add(s1).reduceLanes(VectorOperators.ADD);
    }

    // The vector loop of dot4x2, one copy per format that differ only in how b is loaded: r[2t + u] = the a
    // row at rows[t] dotted with the b row at b0 (u = 0) or b1 (u = 1) over the whole vectors of [p0, p1);
    // returns where the scalar tail starts. Copies, because C2 compiles one body per method: a single loop
    // branching on the format kept its vectors boxed once it had seen all three, and ran several times
    // slower, F32 included. The F16 copy sits near C2's cap on IR nodes while inlining (each Vector API call
    // costs hundreds of nodes while parsing): two conversions per step fit, four did not, and a call that
    // does not fit is left out of line with its vectors boxed.

    private static int dot4x2F32(float[] a, int[] rows, MemorySegment b, long b0, long b1, int p0, int p1,
                                 float[] r) {
        FloatVector s00 = FloatVector.zero(F), s01 = s00, s10 = s00, s11 = s00;
        FloatVector s20 = s00, s21 = s00, s30 = s00, s31 = s00;
        int p = p0;
        for (int bound = p0 + F.loopBound(p1 - p0); p < bound; p += L) {
            FloatVector v0 = FloatVector.fromMemorySegment(F, b, (b0 + p) * Float.BYTES, ByteOrder.LITTLE_ENDIAN);
            FloatVector v1 = FloatVector.fromMemorySegment(F, b, (b1 + p) * Float.BYTES, ByteOrder.LITTLE_ENDIAN);
            FloatVector x = FloatVector.fromArray(F, a, rows[0] + p);
            s00 = x.fma(v0, s00);
            s01 = x.fma(v1, s01);
            x = FloatVector.fromArray(F, a, rows[1] + p);
            s10 = x.fma(v0, s10);
            s11 = x.fma(v1, s11);
            x = FloatVector.fromArray(F, a, rows[2] + p);
            s20 = x.fma(v0, s20);
            s21 = x.fma(v1, s21);
            x = FloatVector.fromArray(F, a, rows[3] + p);
            s30 = x.fma(v0, s30);
            s31 = x.fma(v1, s31);
        }
        sums(r, s00, s01, s10, s11, s20, s21, s30, s31);
        return p;
    }

    private static int dot4x2F16(float[] a, int[] rows, MemorySegment b, long b0, long b1, int p0, int p1,
                                 float[] r) {
        FloatVector s00 = FloatVector.zero(F), s01 = s00, s10 = s00, s11 = s00;
        FloatVector s20 = s00, s21 = s00, s30 = s00, s31 = s00;
        int p = p0;
        for (int bound = p0 + F.loopBound(p1 - p0); p < bound; p += L) {
            FloatVector v0 = FloatFormat.loadF16(b, b0 + p);
            FloatVector v1 = FloatFormat.loadF16(b, b1 + p);
            FloatVector x = FloatVector.fromArray(F, a, rows[0] + p);
            s00 = x.fma(v0, s00);
            s01 = x.fma(v1, s01);
            x = FloatVector.fromArray(F, a, rows[1] + p);
            s10 = x.fma(v0, s10);
            s11 = x.fma(v1, s11);
            x = FloatVector.fromArray(F, a, rows[2] + p);
            s20 = x.fma(v0, s20);
            s21 = x.fma(v1, s21);
            x = FloatVector.fromArray(F, a, rows[3] + p);
            s30 = x.fma(v0, s30);
            s31 = x.fma(v1, s31);
        }
        sums(r, s00, s01, s10, s11, s20, s21, s30, s31);
        return p;
    }

    private static int dot4x2BF16(float[] a, int[] rows, MemorySegment b, long b0, long b1, int p0, int p1,
                                 float[] r) {
        FloatVector s00 = FloatVector.zero(F), s01 = s00, s10 = s00, s11 = s00;
        FloatVector s20 = s00, s21 = s00, s30 = s00, s31 = s00;
        int p = p0;
        for (int bound = p0 + F.loopBound(p1 - p0); p < bound; p += L) {
            FloatVector v0 = FloatFormat.loadBF16(b, b0 + p);
            FloatVector v1 = FloatFormat.loadBF16(b, b1 + p);
            FloatVector x = FloatVector.fromArray(F, a, rows[0] + p);
            s00 = x.fma(v0, s00);
            s01 = x.fma(v1, s01);
            x = FloatVector.fromArray(F, a, rows[1] + p);
            s10 = x.fma(v0, s10);
            s11 = x.fma(v1, s11);
            x = FloatVector.fromArray(F, a, rows[2] + p);
            s20 = x.fma(v0, s20);
            s21 = x.fma(v1, s21);
            x = FloatVector.fromArray(F, a, rows[3] + p);
            s30 = x.fma(v0, s30);
            s31 = x.fma(v1, s31);
        }
        sums(r, s00, s01, s10, s11, s20, s21, s30, s31);
        return p;
    }

    private static void sums(float[] r, FloatVector s00, FloatVector s01, FloatVector s10, FloatVector s11,
                             FloatVector s20, FloatVector s21, FloatVector s30, FloatVector s31) {
        r[0] = s00.reduceLanes(VectorOperators.ADD);
        r[1] = s01.reduceLanes(VectorOperators.ADD);
        r[2] = s10.reduceLanes(VectorOperators.ADD);
        r[3] = s11.reduceLanes(VectorOperators.ADD);
        r[4] = s20.reduceLanes(VectorOperators.ADD);
        r[5] = s21.reduceLanes(VectorOperators.ADD);
        r[6] = s30.reduceLanes(VectorOperators.ADD);
        r[7] = s31.reduceLanes(VectorOperators.ADD);
    }
}
