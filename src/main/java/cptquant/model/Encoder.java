package cptquant.model;

import java.util.Optional;

/** A bidirectional encoder (BERT family): token ids in, contextual states and pooled embeddings out. */
public interface Encoder extends TransformerModel {

    /** Final hidden states of a padded batch: {@code hidden} is (batch*seq) x hiddenSize. */
    record Output(float[] hidden, int batch, int seq, int hiddenSize, int[] lengths) {
        /** Mean over each sequence's real (unpadded) tokens: batch x hiddenSize. */
        public float[] meanPool() {
            float[] out = new float[batch * hiddenSize];
            for (int b = 0; b < batch; b++) {
                for (int t = 0; t < lengths[b]; t++) {
                    int o = (b * seq + t) * hiddenSize;
                    for (int j = 0; j < hiddenSize; j++) out[b * hiddenSize + j] += hidden[o + j];
                }
                float inv = 1f / Math.max(1, lengths[b]);
                for (int j = 0; j < hiddenSize; j++) out[b * hiddenSize + j] *= inv;
            }
            return out;
        }
    }

    /** Runs a batch of token-id sequences (already tokenized, with special tokens), padded internally. */
    Output encode(int[][] ids, BlockObserver observer);

    default Output encode(int[][] ids) { return encode(ids, BlockObserver.NONE); }

    /** Longest sequence the position embeddings support. */
    int maxPositions();

    /** Logits of the checkpoint's own sequence-classification head, batch x numLabels, if it has one. */
    default Optional<float[]> classify(int[][] ids) { return Optional.empty(); }
}
