package cptquant.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.LongBuffer;
import java.util.Map;

/**
 * ONNX Runtime running a BERT-family ONNX model: the speed anchor for our encoder (never part of
 * cptquant's own compute). Inputs are int64 input_ids / attention_mask / token_type_ids, batch x seq.
 */
public final class OrtEncoder implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    /** A session over the model bytes with {@code threads} intra-op threads and full graph optimization. */
    public OrtEncoder(byte[] onnx, int threads) throws OrtException {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(threads);
            o.setInterOpNumThreads(1);
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = env.createSession(onnx, o);
        }
    }

    /** Runs a padded batch and returns the first output (token states), batch*seq*hidden floats. */
    public float[] run(int[][] ids, int seq) throws OrtException {
        int batch = ids.length;
        long[] inputIds = new long[batch * seq], mask = new long[batch * seq], types = new long[batch * seq];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < ids[b].length; t++) {
                inputIds[b * seq + t] = ids[b][t];
                mask[b * seq + t] = 1;
            }
        }
        long[] shape = {batch, seq};
        try (OnnxTensor i = OnnxTensor.createTensor(env, LongBuffer.wrap(inputIds), shape);
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
             OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape);
             OrtSession.Result r = session.run(Map.of("input_ids", i, "attention_mask", m, "token_type_ids", t))) {
            java.nio.FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
