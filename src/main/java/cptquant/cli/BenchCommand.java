package cptquant.cli;

import cptquant.bench.DecodeBench;
import cptquant.bench.KernelBench;
import cptquant.bench.OrtEncoder;
import cptquant.bench.Timing;
import cptquant.io.AtomicFiles;
import cptquant.io.DataPaths;
import cptquant.kernel.Parallel;
import cptquant.model.BertModel;
import cptquant.model.CausalLM;
import cptquant.model.LlamaModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;

/** {@code cptquant bench}: the speed figures of this machine, as a table and JSON. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure GEMM GFLOPS, memory bandwidth, MiniLM encoder time against ONNX Runtime, and decode speed.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--json", description = "write the figures as JSON")
    Path json;

    @Option(names = "--threads", description = "threads for our kernels and for ONNX Runtime (default: all cores)")
    Integer threads;

    @Option(names = "--reps", defaultValue = "7", description = "timed repetitions per figure, median reported (default ${DEFAULT-VALUE})")
    int reps;

    @Option(names = "--rounds", defaultValue = "3",
            description = "child JVMs per storage format, run in turn across formats; speeds are medians over "
                    + "rounds, speed-ups the median of each round's (default ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--formats", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "decode/prefill per storage format on stories260K and an OPT-125M-shaped model (default: on)")
    boolean formats;

    @Override
    public Integer call() throws Exception {
        if (threads != null) Parallel.setThreads(threads);
        if (reps < 1) throw new IllegalArgumentException("--reps must be >= 1, got " + reps);
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("threads", Parallel.threads());
        out.put("cpus", Runtime.getRuntime().availableProcessors());

        System.err.println("GEMM 2048x768x3072 ...");
        out.put("gemm_gflops", KernelBench.gemmGflops(2048, 768, 3072, reps));
        System.err.println("memory bandwidth ...");
        double bandwidth = KernelBench.memoryBandwidthGBs();
        out.put("memory_bandwidth_gbs", bandwidth);
        System.err.println("all-MiniLM-L6-v2 encoder, batch 32 x 128, ours vs ONNX Runtime ...");
        out.put("encoder", encoder());
        String rel = "models/stories260K/stories260K.bin";
        CausalLM stories = DataPaths.has(rel) ? LlamaModel.load(DataPaths.resolve(rel)).model() : null;
        out.put("decode", decode(stories, DataPaths.resolve(rel)));
        if (formats) out.put("formats", formats(DataPaths.resolve(rel)));

        System.out.println(table(out));
        if (json != null) cptquant.io.JsonOut.write(json, out);
        return 0;
    }

    /** Median forward time of ours and of ONNX Runtime on the same random batch of full-length sequences. */
    private Map<String, Object> encoder() throws Exception {
        int batch = 32, seq = 128;
        BertModel model = BertModel.minilm();
        Random rng = new Random(0);
        int[][] ids = new int[batch][seq];
        for (int[] row : ids) {
            for (int t = 0; t < seq; t++) row[t] = 1000 + rng.nextInt(29000);
            row[0] = 101;
            row[seq - 1] = 102;
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("batch", batch);
        r.put("seq", seq);
        double ours = Timing.medianMillis(2, reps, () -> model.encode(ids));
        r.put("ours_ms", ours);
        try (OrtEncoder ort = new OrtEncoder(BertModel.minilmOnnxBytes(), Parallel.threads())) {
            double theirs = Timing.medianMillis(2, reps, () -> ort.run(ids, seq));
            r.put("onnxruntime_ms", theirs);
            r.put("ratio", ours / theirs);
        }
        return r;
    }

    /** Greedy decode speed of stories260K from BOS (skipped when ../shared is absent: model null). */
    private Map<String, Object> decode(CausalLM model, Path file) {
        Map<String, Object> r = new LinkedHashMap<>();
        if (model == null) {
            r.put("skipped", file + " not found");
            return r;
        }
        System.err.println("stories260K decode ...");
        int tokens = Math.min(256, model.maxPositions() - 1);
        double ms = Timing.medianMillis(1, reps, () -> DecodeBench.greedy(model, 1, tokens));
        r.put("stories260K_tokens", tokens);
        r.put("stories260K_tokens_per_s", tokens / (ms / 1000));
        return r;
    }

    /**
     * Decode, prefill and resident memory per storage format, each saved and measured in a child JVM:
     * stories260K (when present) and a random OPT-125M-shaped model, written to a temporary directory.
     */
    private Map<String, Object> formats(Path stories) throws IOException {
        Map<String, Object> r = new LinkedHashMap<>();
        List<DecodeBench.Format> all = List.of(DecodeBench.Format.values());
        if (Files.exists(stories)) {
            r.put("stories260K", DecodeBench.measure("stories260K", stories, all,
                    new DecodeBench.Settings(256, 256, reps, rounds, Parallel.threads())));
        } else {
            System.err.println("stories260K per format: skipped, " + stories + " not found");
            r.put("stories260K", Map.of("skipped", stories + " not found"));
        }
        Path dir = Files.createTempDirectory("cptquant-opt125m-shape");
        try {
            System.err.println("OPT-125M-shaped model (seeded random weights): writing FP32 ...");
            DecodeBench.writeOpt125mShaped(dir);
            r.put("opt125m_shape", DecodeBench.measure("opt125m_shape", dir, all,
                    new DecodeBench.Settings(64, 256, Math.min(reps, 5), rounds, Parallel.threads())));
        } finally {
            AtomicFiles.deleteTree(dir);
        }
        return r;
    }

    @SuppressWarnings("unchecked")
    private static String table(Map<String, Object> out) {
        StringBuilder s = new StringBuilder("figure                               value\n");
        flatten("", out, s);
        return s.toString();
    }

    @SuppressWarnings("unchecked")
    private static void flatten(String prefix, Map<String, Object> m, StringBuilder s) {
        for (var e : m.entrySet()) {
            String key = prefix + e.getKey();
            if (e.getValue() instanceof Map<?, ?> sub) flatten(key + ".", (Map<String, Object>) sub, s);
            else if (e.getValue() instanceof DecodeBench.ModelFigures figures) s.append(figures.table());
            else if (e.getValue() instanceof Double d) s.append(String.format(java.util.Locale.ROOT, "%-36s %10.2f%n", key, d));
            else s.append(String.format("%-36s %10s%n", key, e.getValue()));
        }
    }
}
