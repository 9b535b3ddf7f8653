package cptquant.model;

/**
 * Incremental decoding of one sequence with a key/value cache: each call feeds the token at the current
 * position and returns the logits that predict the one after it.
 */
public interface DecodingSession {
    /** Feeds {@code token} at {@link #position()} and returns vocabSize logits for the next position. */
    float[] next(int token);

    /** How many tokens have been fed so far (the position the next token will occupy). */
    int position();
}
