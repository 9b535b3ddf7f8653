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

    @Option(names = "--task", description = "wikitext2 (perplexity), imdb (accuracy) or embed (built-in sentences, encoders)")
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
        LoadedModel m = loadModel();
        return new Loaded(m, task(m));
    }

    /** Applies --threads and loads the model. */
    LoadedModel loadModel() {
        if (threads != null) Parallel.setThreads(threads);
        return Models.load(model);
    }

    /** The --task for {@code m}; an error when it was not given. */
    Task task(LoadedModel m) {
        if (task == null) throw new IllegalArgumentException("--task is required (wikitext2, imdb or embed)");
        return Tasks.create(m, task, settings());
    }

    record Loaded(LoadedModel model, Task task) {}
}
