package cptquant.model;

import java.util.Arrays;
import java.util.function.IntConsumer;
import java.util.function.IntPredicate;

/**
 * Autoregressive generation with a model's {@link DecodingSession}: the prompt is fed token by token
 * (as llama2.c does), then each sampled token is fed back until a stop token or the position limit.
 */
public final class Generator {
    private final CausalLM model;
    private final IntPredicate stop;

    /** @param stop tokens that end generation (not emitted), e.g. llama2.c's BOS and EOS */
    public Generator(CausalLM model, IntPredicate stop) {
        this.model = model;
        this.stop = stop;
    }

    /**
     * What came out: the prompt followed by the generated tokens, and how long feeding all of them took.
     * {@code tokensPerSecond} counts every position run through the model, prompt included.
     */
    public record Result(int[] tokens, int promptLength, int positionsRun, long nanos) {
        public int[] generated() { return Arrays.copyOfRange(tokens, promptLength, tokens.length); }

        public double tokensPerSecond() { return positionsRun / (nanos / 1e9); }
    }

    /**
     * Continues {@code prompt} (non-empty, usually starting with BOS) by running the model over at most
     * {@code steps} positions (capped at the model's limit), as llama2.c's "steps": the sequence ends
     * with up to steps + 1 tokens, since the last one chosen is never fed. Stops early at a stop token;
     * each generated token is passed to {@code onToken} as soon as it is chosen.
     */
    public Result generate(int[] prompt, int steps, Sampler sampler, IntConsumer onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt needs at least one token (BOS)");
        int limit = Math.min(steps, model.maxPositions());
        if (prompt.length > limit) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens exceeds " + limit + " positions");
        }
        int[] tokens = Arrays.copyOf(prompt, limit + 1);
        int length = prompt.length;
        DecodingSession session = model.startSession();
        long start = System.nanoTime();
        for (int pos = 0; pos < limit; pos++) {
            float[] logits = session.next(tokens[pos]);
            if (pos + 1 < length) continue; // still inside the prompt: its next token is given
            int next = sampler.pick(logits);
            if (stop.test(next)) break;
            tokens[length++] = next;
            onToken.accept(next);
        }
        long nanos = System.nanoTime() - start;
        return new Result(Arrays.copyOf(tokens, length), prompt.length, session.position(), nanos);
    }
}
