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
     * @param tokensPerSecond throughput so far, in tokens per second of wall time
     */
    void update(long done, double tokensPerSecond);

    /** Ends the report (a bar prints its final state). */
    @Override
    default void close() {}

    /** Reports nothing. */
    Progress NONE = (done, tokensPerSecond) -> {};

    /** A console progress bar on stderr for {@code total} units, showing tokens per second. */
    static Progress bar(String task, long total) {
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(500)
                .build();
        return new Progress() {
            @Override
            public void update(long done, double tokensPerSecond) {
                bar.stepTo(done);
                bar.setExtraMessage(String.format("%,.0f tok/s", tokensPerSecond));
            }

            @Override
            public void close() {
                bar.close();
            }
        };
    }
}
