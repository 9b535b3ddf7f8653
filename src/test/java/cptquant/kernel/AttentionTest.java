package cptquant.kernel;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Tiled GEMM attention and the KV-cache decode step against the plain definitions. */
class AttentionTest {

    static double worstAbs(float[] a, float[] b) {
        double w = 0;
        for (int i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
        return w;
    }

    @ParameterizedTest
    @CsvSource({
        // batch, seq, nHeads, nKvHeads, headDim, causal, len0, len1 (-1: no lengths)
        "1,1,1,1,1,false,-1,-1", "2,5,4,2,8,true,-1,-1", "2,17,4,4,20,false,17,9", "2,33,6,2,64,true,33,5",
        "2,9,2,1,16,true,0,9", // batch 0 fully padded: every row takes the position-0 guard
        "1,70,3,3,33,false,-1,-1", "2,12,4,1,7,true,12,1",
    })
    void multiHeadMatchesReference(int batch, int seq, int nHeads, int nKvHeads, int headDim, boolean causal,
                                   int len0, int len1) {
        float[] q = OpsTest.random(batch * seq * nHeads * headDim, 1, 1.0);
        float[] k = OpsTest.random(batch * seq * nKvHeads * headDim, 2, 1.0);
        float[] v = OpsTest.random(batch * seq * nKvHeads * headDim, 3, 1.0);
        int[] lengths = len0 < 0 ? null : new int[] {len0, len1};
        float scale = (float) (1 / Math.sqrt(headDim));
        float[] got = OpsTest.random(q.length, 4, 1.0), want = new float[q.length];
        Attention.multiHead(q, k, v, batch, seq, nHeads, nKvHeads, headDim, causal, lengths, scale, got);
        AttentionReference.multiHead(q, k, v, batch, seq, nHeads, nKvHeads, headDim, causal, lengths, scale, want);
        double w = worstAbs(got, want);
        assertTrue(w < 2e-5, "error " + w);
    }

    @ParameterizedTest
    @CsvSource({"0,4,2,8", "7,4,4,16", "40,6,2,20", "300,8,2,64"})
    void decodeStepMatchesReferenceAndLastCausalRow(int pos, int nHeads, int nKvHeads, int headDim) {
        int seq = pos + 1, qDim = nHeads * headDim, kvDim = nKvHeads * headDim;
        float[] q = OpsTest.random(seq * qDim, 5, 1.0);
        float[] k = OpsTest.random((seq + 2) * kvDim, 6, 1.0); // rows past pos are not part of the step
        float[] v = OpsTest.random((seq + 2) * kvDim, 7, 1.0);
        float scale = 0.3f;
        float[] lastQ = java.util.Arrays.copyOfRange(q, pos * qDim, seq * qDim);
        float[] got = new float[qDim], want = new float[qDim];
        Attention.decodeStep(lastQ, k, v, pos, nHeads, nKvHeads, headDim, scale, got);
        AttentionReference.decodeStep(lastQ, k, v, pos, nHeads, nKvHeads, headDim, scale, want);
        assertTrue(worstAbs(got, want) < 2e-5, "vs reference: " + worstAbs(got, want));

        float[] full = new float[seq * qDim];
        Attention.multiHead(q, k, v, 1, seq, nHeads, nKvHeads, headDim, true, null, scale, full);
        float[] lastRow = java.util.Arrays.copyOfRange(full, pos * qDim, seq * qDim);
        assertTrue(worstAbs(got, lastRow) < 2e-5, "vs last causal row: " + worstAbs(got, lastRow));
    }
}
