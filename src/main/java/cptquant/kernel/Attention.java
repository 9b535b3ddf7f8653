package cptquant.kernel;

import java.util.Arrays;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Scaled dot-product multi-head attention over batched, row-major activations, and its one-token
 * KV-cache form for decoding. {@link AttentionReference} holds the plain definitions.
 */
public final class Attention {
    private Attention() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /**
     * Below this many multiply-adds a decode step runs on the calling thread: forking would cost more (a
     * {@link Parallel} loop starts in about a microsecond; at 64K, OPT-125M's heads ran serially up to
     * position 85, and lowering it made W4 decode 1.05-1.08x faster).
     */
    private static final int DECODE_PARALLEL_WORK = 1 << 12;

    /**
     * out = softmax(q k^T * scale + mask) v per batch element and head. Layouts: q and out are
     * (batch*seq) x (nHeads*headDim); k and v are (batch*seq) x (nKvHeads*headDim); query head h reads
     * kv head h / (nHeads/nKvHeads) (grouped-query attention). {@code causal} hides later positions;
     * {@code lengths[b]} (null = all seq) hides padded key positions >= lengths[b]. Padded query rows
     * are still computed (their output is unused); a row with every key hidden attends to position 0.
     *
     * <p>Each (batch, head) pair is one parallel task that gathers its strided slices into contiguous
     * tiles (Q pre-scaled, K, and V transposed) and does both products as GEMMs: S = Q K^T, a masked
     * softmax per row, then O = P V. Causal attention computes the full square and zeroes the hidden
     * part of P; the waste is at most half the flops, and the GEMM runs several times faster than any
     * per-row dot product loop that would skip it.
     */
    public static void multiHead(float[] q, float[] k, float[] v, int batch, int seq, int nHeads, int nKvHeads,
                                 int headDim, boolean causal, int[] lengths, float scale, float[] out) {
        int group = nHeads / nKvHeads;
        int qStride = nHeads * headDim, kvStride = nKvHeads * headDim;
        Parallel.forRange(batch * nHeads, bh -> {
            int b = bh / nHeads, h = bh % nHeads, kh = h / group;
            int len = lengths == null ? seq : lengths[b];
            int keys = Math.max(1, Math.min(len, seq)); // keys past len are hidden from every row
            float[] qt = new float[seq * headDim], kt = new float[keys * headDim], vt = new float[headDim * keys];
            for (int i = 0; i < seq; i++) {
                int qo = (b * seq + i) * qStride + h * headDim;
                for (int d = 0; d < headDim; d++) qt[i * headDim + d] = q[qo + d] * scale;
            }
            for (int j = 0; j < keys; j++) {
                int ko = (b * seq + j) * kvStride + kh * headDim;
                System.arraycopy(k, ko, kt, j * headDim, headDim);
                for (int d = 0; d < headDim; d++) vt[d * keys + j] = v[ko + d];
            }
            float[] p = new float[seq * keys];
            Gemm.matmulTransB(qt, seq, headDim, kt, keys, p);
            for (int i = 0; i < seq; i++) {
                int last = causal ? Math.min(i + 1, len) : len;
                if (last <= 0) last = 1;
                Ops.softmax(p, i * keys, last);
                Arrays.fill(p, i * keys + last, (i + 1) * keys, 0f);
            }
            float[] o = qt; // Q is no longer needed: reuse its tile for the output
            Gemm.matmulTransB(p, seq, keys, vt, headDim, o);
            for (int i = 0; i < seq; i++) {
                System.arraycopy(o, i * headDim, out, (b * seq + i) * qStride + h * headDim, headDim);
            }
        });
    }

    /**
     * Attention of one new token at position {@code pos} over a KV cache: out = softmax(q k^T * scale) v
     * per head, keys and values at positions 0..pos inclusive. q and out hold nHeads*headDim; the caches
     * are [position][nKvHeads*headDim] (at least pos+1 rows valid); grouping as in {@link #multiHead}.
     * Decoding is bound by reading the cache, so each head streams its keys and values once with
     * vector dot products and vector axpys over headDim.
     */
    public static void decodeStep(float[] q, float[] kCache, float[] vCache, int pos, int nHeads, int nKvHeads,
                                  int headDim, float scale, float[] out) {
        int group = nHeads / nKvHeads, kvStride = nKvHeads * headDim, n = pos + 1;
        IntConsumer head = h -> {
            int qo = h * headDim, base = (h / group) * headDim;
            float[] s = new float[n];
            for (int j = 0; j < n; j++) s[j] = dot(q, qo, kCache, base + j * kvStride, headDim) * scale;
            Ops.softmax(s, 0, n);
            Arrays.fill(out, qo, qo + headDim, 0f);
            for (int j = 0; j < n; j++) axpy(s[j], vCache, base + j * kvStride, out, qo, headDim);
        };
        if ((long) nHeads * n * headDim < DECODE_PARALLEL_WORK) {
            for (int h = 0; h < nHeads; h++) head.accept(h);
        } else {
            Parallel.forRange(nHeads, head);
        }
    }

    private static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int d = 0; d < n; d += L) {
            VectorMask<Float> m = F.indexInRange(d, n);
            acc = FloatVector.fromArray(F, a, ao + d, m).fma(FloatVector.fromArray(F, b, bo + d, m), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** y[yo, yo+n) += alpha * x[xo, xo+n). */
    private static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        for (int d = 0; d < n; d += L) {
            VectorMask<Float> m = F.indexInRange(d, n);
            FloatVector.fromArray(F, x, xo + d, m).fma(FloatVector.broadcast(F, alpha), FloatVector.fromArray(F, y, yo + d, m))
                    .intoArray(y, yo + d, m);
        }
    }
}
