package cptquant.bench;

import cptquant.allocate.BitPlan;
import cptquant.io.AtomicFiles;
import cptquant.io.JsonOut;
import cptquant.io.QuantizedCheckpoint;
import cptquant.io.SafetensorsWriter;
import cptquant.model.Block;
import cptquant.model.CausalLM;
import cptquant.model.DecodingSession;
import cptquant.model.LoadedModel;
import cptquant.model.Models;
import cptquant.quant.ModelQuantizer;
import cptquant.quant.QuantSpec;
import cptquant.tensor.DType;
import cptquant.tensor.Linear;
import cptquant.tokenize.HfTokenizer;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

/**
 * Decode and prefill speed and resident memory of a decoder stored as a user would ship it: the original
 * FP32 file as is, and checkpoints saved the way {@code quantize --out} saves them with the block linears
 * FP16, uniform W8, uniform W4 (group 128, per channel where 128 does not divide a row) and one mixed plan
 * (first third FP16, middle third W8, last third W4). The LM head (with a tied embedding) is stored as a
 * serious deployment stores it: FP16 beside FP16 blocks, else W8 per channel, which keeps the output at
 * higher precision than W4 blocks, as llama.cpp does. Every format is loaded and run in a fresh child JVM
 * ({@link DecodeChild}) with a small heap, so one format's memory or JIT state never colours another's;
 * a child that loads nothing gives the JVM's own resident memory, subtracted to leave the model's. Speed
 * is set beside the bandwidth bound: weight bytes read per decoded token (block linears and LM head as
 * stored) over the read bandwidth the same child measures right after its decode runs. The host's bandwidth
 * drifts within a run: against one figure taken at the run's start, FP32 once decoded at 1.35 of its bound.
 */
public final class DecodeBench {
    /**
     * The child's heap. Decoding leaves much short-lived garbage (per-token activations and logits, more
     * before the JIT has compiled the kernels); with the default young generation, sized from the machine's
     * RAM, it kept 200 MB resident beside stories260K's 1 MB. 32 MB keeps the figure about the model, at
     * the cost of more young collections (1-5 ms each here).
     */
    private static final List<String> CHILD_HEAP = List.of("-Xmx1g", "-Xmn32m");
    private static final long CHILD_TIMEOUT_MINUTES = 15;

    private DecodeBench() {}

    /** A way of storing the block linears and the LM head. */
    public enum Format {
        FP32("fp32", 32, 32), FP16("fp16", 16, 16), W8("w8 (head w8)", 8, 8), W4("w4-g128 (head w8)", 4, 8),
        MIXED("mixed 16/8/4 (head w8)", 0, 8);

        private final String label;
        private final int bits;
        private final int headBits;

        Format(String label, int bits, int headBits) {
            this.label = label;
            this.bits = bits;
            this.headBits = headBits;
        }

        public String label() { return label; }

        /**
         * The plan saved for this format, the LM head ({@value CausalLM#LM_HEAD}, per channel) included;
         * null for FP32, which is the original file.
         */
        BitPlan plan(CausalLM model) {
            if (this == FP32) return null;
            Map<String, QuantSpec> units = new LinkedHashMap<>();
            int n = model.blocks().size();
            for (Block b : model.blocks()) {
                int w = this == MIXED ? new int[] {16, 8, 4}[3 * b.index() / n] : bits;
                for (Linear l : b.linears()) {
                    units.put(l.name(), w == 4 ? QuantSpec.of(4, l.in() % 128 == 0 ? 128 : 0) : QuantSpec.of(w, 0));
                }
            }
            units.put(CausalLM.LM_HEAD, QuantSpec.of(headBits, 0));
            return new BitPlan(units, "bench " + label);
        }
    }

    /**
     * Tokens decoded and prefilled per timed run, timed runs per child (median), rounds (a child per format
     * each, formats in turn), kernel threads.
     */
    public record Settings(int decodeTokens, int prefillTokens, int reps, int rounds, int threads) {}

    /** What a child prints: its figures for one checkpoint. */
    public record Measurement(long weightBytes, int decodeTokens, int prefillTokens, double decodeTokensPerS,
                              double bandwidthGBs, double prefillTokensPerS, ResidentMemory afterLoad,
                              ResidentMemory afterDecode) {}

    /**
     * One format's figures: speeds and bandwidth are medians over rounds, the speed-up and decode/bound the
     * medians of each round's ratios, memory the first round's.
     *
     * @param checkpointMB size on disk of what was loaded
     * @param weightMB     bytes every decoded token reads: block linears and LM head as stored
     * @param modelOnly    resident memory after decoding less the baseline child's
     * @param bandwidthGBs read bandwidth each child measured right after decoding: the bound's
     * @param decodeRounds each round's decode tokens/s
     */
    public record Figure(String format, double checkpointMB, double weightMB, ResidentMemory modelOnly,
                         double decodeTokensPerS, double speedupVsFp32, double bandwidthGBs, double boundTokensPerS,
                         double decodeOverBound, double prefillTokensPerS, List<Double> decodeRounds,
                         ResidentMemory afterLoad, ResidentMemory afterDecode) {}

    /**
     * Every format of one model.
     *
     * @param baseline a child JVM's resident memory when it loads nothing
     * @param note     why resident memory is missing, or null
     */
    public record ModelFigures(String model, int decodeTokens, int prefillTokens, int reps, int rounds,
                               ResidentMemory baseline, String note, List<Figure> formats) {

        /** A human table, one row per format. */
        public String table() {
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                    "%s: decode %d tokens, prefill %d, median of %d per child, of %d rounds; baseline JVM RSS %s MB%s%n",
                    model, decodeTokens, prefillTokens, reps, rounds, mb(baseline.rssMB()),
                    note == null ? "" : " (" + note + ")"));
            s.append(String.format("  %-23s %9s %9s %12s %7s %6s %11s %12s %13s%n", "format", "weight MB", "RSS MB",
                    "decode tok/s", "x fp32", "GB/s", "bound tok/s", "decode/bound", "prefill tok/s"));
            for (Figure f : formats) {
                s.append(String.format(Locale.ROOT, "  %-23s %9.1f %9s %12.1f %7.2f %6.1f %11.1f %12.2f %13.1f%n",
                        f.format(), f.weightMB(), mb(f.modelOnly().rssMB()), f.decodeTokensPerS(), f.speedupVsFp32(),
                        f.bandwidthGBs(), f.boundTokensPerS(), f.decodeOverBound(), f.prefillTokensPerS()));
            }
            return s.toString();
        }

        private static String mb(Double v) { return v == null ? "n/a" : String.format(Locale.ROOT, "%.1f", v); }
    }

    /**
     * Saves {@code source} (a model file or directory {@link Models#load} reads) in each of {@code formats}
     * and measures each in a child JVM. The saved checkpoints live in a temporary directory that is deleted
     * before returning, also on failure.
     *
     * @param formats FP32 first: the others' speedups are relative to it
     */
    public static ModelFigures measure(String name, Path source, List<Format> formats, Settings settings) {
        if (formats.isEmpty() || formats.getFirst() != Format.FP32) {
            throw new IllegalArgumentException("formats must start with fp32, the reference; got " + formats);
        }
        LoadedModel loaded = Models.load(source.toString());
        if (!(loaded.model() instanceof CausalLM)) {
            throw new IllegalArgumentException(source + ": a " + loaded.model().architecture() + " model does not decode");
        }
        Path work;
        try {
            work = Files.createTempDirectory("cptquant-bench");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary directory (" + e.getMessage() + ")", e);
        }
        try {
            ResidentMemory baseline = child("baseline", List.of("--baseline"), work, ResidentMemory.class);
            Map<Format, Path> checkpoints = new LinkedHashMap<>();
            for (Format f : formats) checkpoints.put(f, f == Format.FP32 ? source : save(name, loaded, f, work));
            // Rounds run every format in turn, so each round's ratios compare children run minutes apart at
            // most: the host's speed drifts by a third over a run, more than the differences measured.
            List<List<Measurement>> runs = new ArrayList<>();
            for (int r = 0; r < settings.rounds(); r++) {
                List<Measurement> round = new ArrayList<>();
                for (Format f : formats) {
                    System.err.printf(Locale.ROOT, "%s: round %d/%d, measuring %s in a child JVM ...%n", name, r + 1,
                            settings.rounds(), f.label());
                    round.add(child(f.label(), List.of(checkpoints.get(f).toString(),
                            Integer.toString(settings.threads()), Integer.toString(settings.decodeTokens()),
                            Integer.toString(settings.prefillTokens()), Integer.toString(settings.reps())), work,
                            Measurement.class));
                }
                runs.add(round);
            }
            List<Figure> figures = new ArrayList<>();
            for (int i = 0; i < formats.size(); i++) {
                int f = i;
                List<Measurement> ms = runs.stream().map(round -> round.get(f)).toList();
                Measurement m = ms.getFirst();
                double bandwidth = median(ms, Measurement::bandwidthGBs);
                figures.add(new Figure(formats.get(f).label(), sizeOf(checkpoints.get(formats.get(f))) / 1e6,
                        m.weightBytes() / 1e6, m.afterDecode().minus(baseline), median(ms, Measurement::decodeTokensPerS),
                        median(runs, round -> round.get(f).decodeTokensPerS() / round.getFirst().decodeTokensPerS()),
                        bandwidth, bandwidth * 1e9 / m.weightBytes(),
                        median(ms, x -> x.decodeTokensPerS() * x.weightBytes() / (x.bandwidthGBs() * 1e9)),
                        median(ms, Measurement::prefillTokensPerS),
                        ms.stream().map(Measurement::decodeTokensPerS).toList(), m.afterLoad(), m.afterDecode()));
            }
            Measurement first = runs.getFirst().getFirst();
            return new ModelFigures(name, first.decodeTokens(), first.prefillTokens(), settings.reps(), settings.rounds(),
                    baseline,
                    baseline.rssMB() == null ? "resident memory needs Linux's /proc/self/status" : null, figures);
        } catch (IOException e) {
            throw new UncheckedIOException(name + ": " + e.getMessage(), e);
        } finally {
            try {
                AtomicFiles.deleteTree(work);
            } catch (IOException e) {
                System.err.println("cptquant: could not delete " + work + " (" + e.getMessage() + ")");
            }
        }
    }

    private static <T> double median(List<T> xs, ToDoubleFunction<T> f) {
        return Timing.median(xs.stream().mapToDouble(f).toArray());
    }

    /** Writes {@code format} of the loaded model as {@code quantize --out} would, into a new folder of {@code work}. */
    private static Path save(String name, LoadedModel loaded, Format format, Path work) {
        System.err.println(name + ": saving " + format.label() + " ...");
        BitPlan plan = format.plan((CausalLM) loaded.model());
        Path dir = work.resolve(format.name().toLowerCase(Locale.ROOT));
        ModelQuantizer.Undo undo = ModelQuantizer.apply(loaded.model(), plan.units());
        try {
            QuantizedCheckpoint.write(loaded, plan, dir);
        } finally {
            undo.restore();
        }
        return dir;
    }

    /**
     * Runs {@link DecodeChild} with {@code args} in a fresh JVM: this one's java binary and flags, the
     * child heap, this classpath. Its stdout and stderr go to files in {@code work}, so neither pipe can fill and
     * stall it. Returns its JSON line read as {@code type}; a failed child is an IOException naming
     * {@code what} with the end of the child's stderr.
     */
    static <T> T child(String what, List<String> args, Path work, Class<T> type) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // The heap is set below; a debugger or agent of this JVM must not be attached twice.
            if (!a.startsWith("-Xm") && !a.startsWith("-agentlib") && !a.startsWith("-javaagent")) {
                cmd.add(a);
            }
        }
        cmd.addAll(CHILD_HEAP);
        cmd.addAll(List.of("--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), DecodeChild.class.getName()));
        cmd.addAll(args);
        Path out = work.resolve("child.out"), err = work.resolve("child.err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            if (!p.waitFor(CHILD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly().waitFor();
                throw new IOException(what + ": child JVM did not finish in " + CHILD_TIMEOUT_MINUTES + " minutes");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(what + ": interrupted while the child JVM ran");
        }
        List<String> lines = Files.readAllLines(out).stream().filter(l -> !l.isBlank()).toList();
        if (p.exitValue() != 0 || lines.isEmpty()) {
            // The JVM's own warnings (incubator modules) are never the cause; the child's error is its last line.
            List<String> errors = Files.readAllLines(err).stream().filter(l -> !l.isBlank() && !l.startsWith("WARNING: ")).toList();
            String tail = String.join(" | ", errors.subList(Math.max(0, errors.size() - 3), errors.size()));
            throw new IOException(what + ": child JVM exited with status " + p.exitValue() + ": "
                    + (tail.isEmpty() ? "(nothing on stderr)" : tail));
        }
        return JsonOut.MAPPER.readValue(lines.getLast(), type);
    }

    /** Bytes of a file, or of every file under a directory. */
    private static long sizeOf(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            long n = 0;
            for (Path f : s.filter(Files::isRegularFile).toList()) n += Files.size(f);
            return n;
        }
    }

    /** Greedy decoding of {@code tokens} tokens after {@code first} in a fresh session (results unused). */
    public static void greedy(CausalLM model, int first, int tokens) {
        DecodingSession s = model.startSession();
        int tok = first;
        for (int i = 0; i < tokens; i++) {
            float[] logits = s.next(tok);
            int best = 0;
            for (int j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
            tok = best;
        }
    }

    /**
     * Writes a checkpoint with facebook/opt-125m's shapes (12 layers, hidden 768, FFN 3072, vocabulary
     * 50272, 2048 positions) and seeded random FP32 weights into {@code dir}: speed does not depend on the
     * values, and no real OPT weights are reachable here. MiniLM's tokenizer.json stands in for OPT's, which
     * is not reachable either: loading wants one, and the benchmark never tokenizes text.
     */
    public static void writeOpt125mShaped(Path dir) {
        int h = 768, f = 3072, layers = 12, vocab = 50272, positions = 2048;
        SplittableRandom rng = new SplittableRandom(125);
        SafetensorsWriter w = new SafetensorsWriter();
        w.addFloats("model.decoder.embed_tokens.weight", DType.F32, new long[] {vocab, h}, random(rng, vocab * h, 0.02f));
        w.addFloats("model.decoder.embed_positions.weight", DType.F32, new long[] {positions + 2, h}, random(rng, (positions + 2) * h, 0.02f));
        ones(w, "model.decoder.final_layer_norm", h);
        for (int i = 0; i < layers; i++) {
            String p = "model.decoder.layers." + i + ".";
            for (String m : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj")) {
                linear(w, rng, p + m, h, h);
            }
            linear(w, rng, p + "fc1", f, h);
            linear(w, rng, p + "fc2", h, f);
            ones(w, p + "self_attn_layer_norm", h);
            ones(w, p + "final_layer_norm", h);
        }
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), """
                    {"model_type": "opt", "hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 12,
                     "ffn_dim": 3072, "vocab_size": 50272, "max_position_embeddings": 2048, "word_embed_proj_dim": 768,
                     "do_layer_norm_before": true, "activation_function": "relu"}""");
            Files.write(dir.resolve("tokenizer.json"), HfTokenizer.minilm().json());
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": " + e.getMessage(), e);
        }
        w.write(dir.resolve("model.safetensors"));
    }

    private static void linear(SafetensorsWriter w, SplittableRandom rng, String name, int out, int in) {
        w.addFloats(name + ".weight", DType.F32, new long[] {out, in}, random(rng, out * in, (float) (1 / Math.sqrt(in))));
        w.addFloats(name + ".bias", DType.F32, new long[] {out}, new float[out]);
    }

    private static void ones(SafetensorsWriter w, String name, int n) {
        float[] g = new float[n];
        Arrays.fill(g, 1f);
        w.addFloats(name + ".weight", DType.F32, new long[] {n}, g);
        w.addFloats(name + ".bias", DType.F32, new long[] {n}, new float[n]);
    }

    private static float[] random(SplittableRandom rng, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        return v;
    }
}
