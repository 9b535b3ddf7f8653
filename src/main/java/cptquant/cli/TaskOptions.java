package cptquant.cli;

import cptquant.kernel.Parallel;
import cptquant.model.LoadedModel;
import cptquant.model.Models;
import cptquant.task.Task;
import cptquant.task.TaskSettings;
import cptquant.task.Tasks;
import picocli.CommandLine.Option;

/** The options every model-and-task command shares (picocli mixin). */
final class TaskOptions {
    @Option(names = "--model", required = true, description = "minilm, a checkpoint directory, an .onnx or a llama2.c .bin file")
    String model;

    @Option(names = "--task", required = true, description = "wikitext2 (perplexity) or imdb (accuracy)")
    String task;

    @Option(names = "--calib-samples", defaultValue = "128", description = "calibration sequences (default ${DEFAULT-VALUE})")
    int calibSamples;

    @Option(names = "--calib-seqlen", defaultValue = "512", description = "tokens per calibration sequence (default ${DEFAULT-VALUE})")
    int calibSeqlen;

    @Option(names = "--limit", description = "evaluate on the first N windows (wikitext2) or a seeded balanced subset of N test reviews (imdb)")
    Integer limit;

    @Option(names = "--seqlen", defaultValue = "0", description = "perplexity window; 0 = the model's maximum positions (default)")
    int seqlen;

    @Option(names = "--seed", defaultValue = "0", description = "seed of calibration sampling and noise (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--threads", description = "kernel threads (default: all cores)")
    Integer threads;

    TaskSettings settings() {
        return new TaskSettings(calibSamples, calibSeqlen, limit == null ? 0 : limit, seqlen, seed);
    }

    /** Loads the model and builds its task. */
    Loaded load() {
        if (threads != null) Parallel.setThreads(threads);
        LoadedModel m = Models.load(model);
        return new Loaded(m, Tasks.create(m, task, settings()));
    }

    record Loaded(LoadedModel model, Task task) {}
}
