package cptquant.task;

/**
 * How a task samples its data.
 *
 * @param calibSamples calibration sequences (windows or reviews)
 * @param calibSeqlen  tokens per calibration sequence (reviews are truncated to it)
 * @param evalLimit    evaluation windows (wikitext2) or test reviews (imdb); 0 = all
 * @param seqlen       evaluation window of language models; 0 = the model's maximum positions
 * @param seed         seed of every sampling step
 */
public record TaskSettings(int calibSamples, int calibSeqlen, int evalLimit, int seqlen, long seed) {
    public TaskSettings {
        if (calibSamples < 1) throw new IllegalArgumentException("--calib-samples must be >= 1, got " + calibSamples);
        if (calibSeqlen < 2) throw new IllegalArgumentException("--calib-seqlen must be >= 2, got " + calibSeqlen);
        if (seqlen < 0) throw new IllegalArgumentException("--seqlen must be >= 0, got " + seqlen);
        if (evalLimit < 0) throw new IllegalArgumentException("--limit must be >= 0, got " + evalLimit);
    }
}
