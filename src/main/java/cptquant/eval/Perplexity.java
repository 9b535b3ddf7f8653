package cptquant.eval;

import cptquant.kernel.Parallel;
import cptquant.model.CausalLM;
import cptquant.progress.Progress;
import cptquant.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Perplexity of a causal language model by the protocol of the GPTQ and AWQ papers: the corpus is tokenized
 * once into one stream, cut into non-overlapping windows of {@code seqlen} tokens (the last partial window
 * is dropped), each window is run on its own, and position t of a window predicts token t+1 of the same
 * window, so a window contributes {@code seqlen - 1} predictions (GPTQ's loss over {@code shift_logits}).
 * Perplexity is exp of the mean negative log-likelihood over all predictions; since every window has the
 * same number of predictions this equals GPTQ's exp(sum of window losses * seqlen / (windows * seqlen)).
 */
public final class Perplexity {
    /** Probe text for finding the special tokens a tokenizer puts before a text (see {@link #corpus}). */
    private static final String PROBE = "Perplexity";

    private Perplexity() {}

    /**
     * The outcome of one evaluation.
     *
     * @param ppl     exp(meanNll)
     * @param meanNll mean negative log-likelihood per predicted token, in nats
     * @param tokens  number of predicted tokens: windows * (seqlen - 1)
     * @param windows windows evaluated
     * @param seqlen  window length
     * @param seconds wall time of the evaluation
     */
    public record Result(double ppl, double meanNll, long tokens, int windows, int seqlen, double seconds) {}

    /**
     * The token stream that GPTQ's {@code tokenizer(text)} builds: the special tokens the tokenizer puts in
     * front of a text (OPT's {@code </s>}, llama's BOS; found by comparing {@link Tokenizer#encode} with
     * {@link Tokenizer#encodePlain} on a probe word) followed by {@link Tokenizer#encodePlain} of the whole
     * text. The leading token matters for reproducing published numbers: it shifts every window boundary.
     */
    public static int[] corpus(Tokenizer tokenizer, String text) {
        int[] lead = leadingSpecials(tokenizer);
        int[] plain = tokenizer.encodePlain(text);
        int[] all = Arrays.copyOf(lead, lead.length + plain.length);
        System.arraycopy(plain, 0, all, lead.length, plain.length);
        return all;
    }

    private static int[] leadingSpecials(Tokenizer tokenizer) {
        int[] plain = tokenizer.encodePlain(PROBE);
        int[] full = tokenizer.encode(PROBE, plain.length + 16);
        for (int i = 0; i + plain.length <= full.length; i++) {
            if (Arrays.equals(full, i, i + plain.length, plain, 0, plain.length)) return Arrays.copyOf(full, i);
        }
        return new int[0];
    }

    /**
     * Non-overlapping windows {@code tokens[i*seqlen, (i+1)*seqlen)} for i &lt; tokens.length / seqlen (the
     * trailing partial window is dropped). Calibration draws its windows from the same list, so that
     * calibration and evaluation can be kept disjoint by index.
     */
    public static List<int[]> windows(int[] tokens, int seqlen) {
        if (seqlen < 2) throw new IllegalArgumentException("seqlen must be >= 2, got " + seqlen);
        int n = tokens.length / seqlen;
        List<int[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(Arrays.copyOfRange(tokens, i * seqlen, (i + 1) * seqlen));
        return out;
    }

    /**
     * Evaluates {@code model} on the first {@code limit} windows of {@code tokens}.
     *
     * @param seqlen   window length, at most {@link CausalLM#maxPositions()}
     * @param limit    most windows to evaluate ({@link Integer#MAX_VALUE} for all)
     * @param progress told (windows done, tokens per second) after each window
     */
    public static Result evaluate(CausalLM model, int[] tokens, int seqlen, int limit, Progress progress) {
        if (seqlen > model.maxPositions()) {
            throw new IllegalArgumentException("seqlen " + seqlen + " exceeds the model's " + model.maxPositions()
                    + " positions");
        }
        if (limit < 1) throw new IllegalArgumentException("--limit must be >= 1, got " + limit);
        List<int[]> all = windows(tokens, seqlen);
        if (all.isEmpty()) {
            throw new IllegalArgumentException("corpus of " + tokens.length + " tokens is shorter than one window of "
                    + seqlen);
        }
        List<int[]> used = all.subList(0, Math.min(limit, all.size()));
        long t0 = System.nanoTime();
        double nll = 0;
        for (int w = 0; w < used.size(); w++) {
            nll += windowNll(model.logits(used.get(w)), used.get(w), model.vocabSize());
            double seconds = (System.nanoTime() - t0) / 1e9;
            progress.update(w + 1, (w + 1) * (double) seqlen / seconds);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long predicted = (long) used.size() * (seqlen - 1);
        double mean = nll / predicted;
        return new Result(Math.exp(mean), mean, predicted, used.size(), seqlen, seconds);
    }

    /**
     * Sum over t in [0, n-1) of -log softmax(logits row t)[window[t+1]], with the softmax in double. Rows are
     * independent, so they are spread over the kernel pool; the sum runs in row order so the result does
     * not depend on the thread count.
     */
    public static double windowNll(float[] logits, int[] window, int vocab) {
        int rows = window.length - 1;
        if (logits.length != window.length * vocab) {
            throw new IllegalStateException("model returned " + logits.length + " logits for " + window.length
                    + " tokens x vocab " + vocab);
        }
        double[] perRow = new double[rows];
        Parallel.forRange(rows, t -> {
            int o = t * vocab;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) max = Math.max(max, logits[o + j]);
            double sum = 0;
            for (int j = 0; j < vocab; j++) sum += Math.exp(logits[o + j] - max);
            perRow[t] = Math.log(sum) + max - logits[o + window[t + 1]];
        });
        double total = 0;
        for (double v : perRow) total += v;
        return total;
    }
}
