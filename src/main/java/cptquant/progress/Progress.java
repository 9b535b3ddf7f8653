package cptquant.progress;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Where long jobs (perplexity windows, encoder batches) report how far they are, so that computing code
 * needs no knowledge of the console: the CLI passes a {@link #bar}, tests and libraries pass {@link #NONE}.
 */
public interface Progress extends AutoCloseable {

    /**
     * Called after each finished unit of work.
     *
     * @param done            units finished so far (windows, batches)
     * @param tokensPerSecond throughput so far, in tokens per second of wall time (0: not a token count)
     */
    void update(long done, double tokensPerSecond);

    /** Ends the report (a bar prints its final state). */
    @Override
    default void close() {}

    /** Reports nothing. */
    Progress NONE = (done, tokensPerSecond) -> {};

    /**
     * A console progress bar on stderr for {@code total} units, showing tokens per second. The bar appears at
     * the first update, so a job that turns out to have nothing to do (a cache hit) prints nothing.
     */
    static Progress bar(String task, long total) {
        return new Progress() {
            private ProgressBar bar;

            @Override
            public void update(long done, double tokensPerSecond) {
                if (bar == null) {
                    bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                            .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).build();
                }
                bar.stepTo(done);
                if (tokensPerSecond > 0) bar.setExtraMessage(String.format("%,.0f tok/s", tokensPerSecond));
            }

            @Override
            public void close() {
                if (bar != null) bar.close();
            }
        };
    }
}
