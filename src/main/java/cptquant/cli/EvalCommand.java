package cptquant.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import cptquant.eval.ClassifierHead;
import cptquant.eval.Imdb;
import cptquant.eval.ImdbReviews;
import cptquant.eval.Perplexity;
import cptquant.eval.WikiText;
import cptquant.io.CachePaths;
import cptquant.io.DataPaths;
import cptquant.io.JsonOut;
import cptquant.kernel.Parallel;
import cptquant.model.LoadedModel;
import cptquant.model.Models;
import cptquant.progress.Progress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cptquant eval}: WikiText-2 perplexity of a causal LM or IMDB accuracy of an encoder. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Perplexity on WikiText-2 (GPTQ protocol) or sentiment accuracy on IMDB of one model.")
public final class EvalCommand implements Callable<Integer> {
    private static final List<String> TASKS = List.of("wikitext2", "imdb");
    private static final int DEFAULT_IMDB_LIMIT = 2000;

    @Option(names = "--model", required = true, paramLabel = "M", description = "Model: alias, checkpoint directory or file.")
    private String model;

    @Option(names = "--task", required = true, paramLabel = "TASK", description = "wikitext2 or imdb.")
    private String task;

    @Option(names = "--limit", paramLabel = "N",
            description = "wikitext2: most windows (default all); imdb: balanced test reviews (default 2000, 25000 = all).")
    private Integer limit;

    @Option(names = "--seqlen", paramLabel = "L", description = "wikitext2 window length (default: the model's max positions).")
    private Integer seqlen;

    @Option(names = "--train-limit", paramLabel = "N",
            description = "imdb: balanced train reviews for the logistic head (default 2000).")
    private Integer trainLimit;

    @Option(names = "--threads", paramLabel = "T", description = "Worker threads (default: all cores).")
    private Integer threads;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the result as JSON.")
    private Path json;

    /** What {@code --json} writes. */
    record Report(String task, String model, String architecture, int threads, Object result) {}

    @Override
    public Integer call() {
        validate();
        if (threads != null) Parallel.setThreads(threads);
        LoadedModel loaded = Models.load(model);
        Object result = task.equals("wikitext2") ? wikitext(loaded) : imdb(loaded);
        Report report = new Report(task, loaded.name(), loaded.model().architecture(), Parallel.threads(), result);
        System.out.print(table(report));
        if (json != null) JsonOut.write(json, report);
        return 0;
    }

    /** Rejects bad arguments before the (slow) model load. */
    private void validate() {
        if (!TASKS.contains(task)) {
            throw new IllegalArgumentException("unknown task '" + task + "' (expected one of " + String.join(", ", TASKS) + ")");
        }
        if (limit != null && limit < 1) throw new IllegalArgumentException("--limit must be >= 1, got " + limit);
        if (seqlen != null && !task.equals("wikitext2")) throw new IllegalArgumentException("--seqlen applies to wikitext2 only");
        if (trainLimit != null && !task.equals("imdb")) throw new IllegalArgumentException("--train-limit applies to imdb only");
        if (trainLimit != null && trainLimit < 10) throw new IllegalArgumentException("--train-limit must be >= 10, got " + trainLimit);
    }

    private Perplexity.Result wikitext(LoadedModel loaded) {
        if (!(loaded instanceof LoadedModel.Causal causal)) {
            throw new IllegalArgumentException("task wikitext2 needs a causal language model; " + loaded.name() + " is an encoder");
        }
        int length = seqlen != null ? seqlen : causal.model().maxPositions();
        int[] tokens = Perplexity.corpus(causal.tokenizer(), WikiText.testText());
        int windows = Math.min(limit != null ? limit : Integer.MAX_VALUE, tokens.length / Math.max(1, length));
        try (Progress bar = Progress.bar("wikitext2", windows)) {
            return Perplexity.evaluate(causal.model(), tokens, length, limit != null ? limit : Integer.MAX_VALUE, bar);
        }
    }

    private Imdb.Result imdb(LoadedModel loaded) {
        if (!(loaded instanceof LoadedModel.Encoding enc)) {
            throw new IllegalArgumentException("task imdb needs an encoder; " + loaded.name() + " is a causal language model");
        }
        Imdb.Settings d = Imdb.Settings.DEFAULTS;
        Imdb.Settings settings = new Imdb.Settings(trainLimit != null ? trainLimit : d.trainLimit(), d.maxTokens(),
                d.batch(), d.seed(), d.penalties());
        ClassifierHead head = null;
        if (!Imdb.hasOwnHead(enc.model(), enc.tokenizer())) {
            try (Progress bar = Progress.bar("imdb head", batches(settings.trainLimit(), settings))) {
                head = Imdb.head(enc.model(), enc.tokenizer(), DataPaths.resolve(ImdbReviews.TRAIN), settings,
                        CachePaths.root(), bar);
            }
        }
        var test = ImdbReviews.balancedSubset(ImdbReviews.test(), limit != null ? limit : DEFAULT_IMDB_LIMIT, settings.seed());
        try (Progress bar = Progress.bar("imdb", batches(test.size(), settings))) {
            return Imdb.evaluate(enc.model(), enc.tokenizer(), head, test, settings, bar);
        }
    }

    private static long batches(int reviews, Imdb.Settings settings) {
        return (reviews + settings.batch() - 1) / settings.batch();
    }

    /** Two aligned columns: the report's header fields, then every field of the result. */
    static String table(Report report) {
        Map<String, Object> rows = new LinkedHashMap<>();
        rows.put("task", report.task());
        rows.put("model", report.model());
        rows.put("architecture", report.architecture());
        rows.put("threads", report.threads());
        rows.putAll(JsonOut.MAPPER.convertValue(report.result(), new TypeReference<Map<String, Object>>() {}));
        StringBuilder out = new StringBuilder();
        rows.forEach((k, v) -> out.append(String.format("%-14s %s%n", k,
                v instanceof Double x ? String.format("%.4f", x) : v)));
        return out.toString();
    }
}
