package cptquant.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.io.HfCheckpoint;
import cptquant.io.ModelFormatException;
import cptquant.io.SafetensorsWriter;
import cptquant.tensor.DType;
import cptquant.tensor.DenseWeight;
import cptquant.tensor.Linear;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class OptModelTest {
    private static final double TOLERANCE = 1e-4;
    @TempDir Path dir;

    static Stream<Arguments> variants() {
        OptCheckpoints.Spec s = OptCheckpoints.Spec.small();
        return Stream.of(
                Arguments.of("pre-LN, F32, model. prefix, single file", s),
                Arguments.of("post-LN (OPT-350M style) with project_in/out, F16, no prefix, 3 shards",
                        s.postLn().projected(8).stored(DType.F16).unprefixed().sharded(3)),
                Arguments.of("pre-LN with projections, BF16, no biases, no LN affine, silu, 2 shards",
                        s.projected(12).stored(DType.BF16).plain("silu").sharded(2)),
                Arguments.of("post-LN, F32, no prefix", s.postLn().unprefixed()),
                Arguments.of("pre-LN with projections, F16, single file", s.projected(8).stored(DType.F16)));
    }

    private static int[] tokens(int n, int vocab, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }

    private static double maxDiff(float[] actual, int offset, double[] expected) {
        double m = 0;
        for (int j = 0; j < expected.length; j++) m = Math.max(m, Math.abs(actual[offset + j] - expected[j]));
        return m;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void logitsAndBlockOutputsMatchTheDoublePrecisionReference(String label, OptCheckpoints.Spec spec) throws IOException {
        OptCheckpoints.Weights w = OptCheckpoints.generate(spec, 42);
        OptCheckpoints.write(dir, spec, w);
        OptModel m = OptModel.load(dir);
        int[] ids = tokens(spec.maxPos(), spec.vocab(), 7); // every position embedding row is used

        List<float[]> ins = new ArrayList<>(), outs = new ArrayList<>();
        float[] logits = m.logits(ids, (b, in, out, rows, dim, valid) -> {
            assertEquals(ins.size(), b);
            assertEquals(ids.length, rows);
            assertEquals(spec.hidden(), dim);
            ins.add(in.clone());
            outs.add(out.clone());
        });
        OptReference.Result ref = new OptReference(spec, w).run(ids);

        assertEquals(ids.length * spec.vocab(), logits.length);
        double worst = 0, scale = 0;
        for (int t = 0; t < ids.length; t++) {
            worst = Math.max(worst, maxDiff(logits, t * spec.vocab(), ref.logits()[t]));
            for (double v : ref.logits()[t]) scale = Math.max(scale, Math.abs(v));
        }
        assertTrue(worst <= TOLERANCE, label + ": max |logit diff| " + worst);
        assertTrue(scale > 1, "logits are not trivially small: " + scale);

        assertEquals(spec.layers(), outs.size());
        for (int b = 0; b < spec.layers(); b++) {
            for (int t = 0; t < ids.length; t++) {
                double d = maxDiff(outs.get(b), t * spec.hidden(), ref.blockOutputs().get(b)[t]);
                assertTrue(d <= TOLERANCE, label + ": block " + b + " output differs by " + d);
            }
            if (b > 0) assertArrayEquals(outs.get(b - 1), ins.get(b), "block input is the previous block's output");
        }

        // A prefix of the sequence gives the same logits: the mask is causal.
        float[] shorter = m.logits(Arrays.copyOf(ids, 5));
        for (int t = 0; t < 5; t++) {
            assertTrue(maxDiff(shorter, t * spec.vocab(), ref.logits()[t]) <= TOLERANCE);
        }
    }

    @Test
    void exposesBlocksParametersAndSizes() throws IOException {
        OptCheckpoints.Spec spec = OptCheckpoints.Spec.small().projected(8);
        OptCheckpoints.write(dir, spec, OptCheckpoints.generate(spec, 1));
        OptModel m = OptModel.load(dir);
        assertEquals("opt", m.architecture());
        assertEquals(16, m.hiddenSize());
        assertEquals(37, m.vocabSize());
        assertEquals(20, m.maxPositions());
        assertEquals(2, m.blocks().size());
        Block b1 = m.blocks().get(1);
        assertEquals("layers.1", b1.name());
        assertEquals(List.of("layers.1.self_attn.q_proj", "layers.1.self_attn.k_proj", "layers.1.self_attn.v_proj",
                "layers.1.self_attn.out_proj", "layers.1.fc1", "layers.1.fc2"), b1.linears().stream().map(Linear::name).toList());
        assertEquals(24, b1.linears().get(4).out());
        assertEquals(24, b1.linears().get(4).bias().length);
        assertEquals(List.of("embed_tokens.weight", "embed_positions.weight", "project_in.weight",
                "layers.0.self_attn_layer_norm.weight", "layers.0.self_attn_layer_norm.bias",
                "layers.0.final_layer_norm.weight", "layers.0.final_layer_norm.bias",
                "layers.1.self_attn_layer_norm.weight", "layers.1.self_attn_layer_norm.bias",
                "layers.1.final_layer_norm.weight", "layers.1.final_layer_norm.bias",
                "final_layer_norm.weight", "final_layer_norm.bias", "project_out.weight"),
                List.copyOf(m.otherParameters().keySet()));
        assertEquals(22 * 16, m.otherParameters().get("embed_positions.weight").length);
        assertThrows(IllegalArgumentException.class, () -> m.logits(new int[21]));
        assertThrows(IllegalArgumentException.class, () -> m.logits(new int[] {37}));
    }

    @Test
    void swappedBlockWeightsAreTheOnesForwardUses() throws IOException {
        OptCheckpoints.Spec spec = OptCheckpoints.Spec.small();
        OptCheckpoints.Weights w = OptCheckpoints.generate(spec, 3);
        OptCheckpoints.write(dir, spec, w);
        OptModel m = OptModel.load(dir);
        int[] ids = tokens(9, spec.vocab(), 4);
        float[] before = m.logits(ids);

        Linear fc1 = m.blocks().get(0).linears().get(4);
        float[] scaled = fc1.weight().toFloat();
        for (int i = 0; i < scaled.length; i++) scaled[i] *= 0.5f;
        fc1.setWeight(DenseWeight.ofFloats(scaled, fc1.out(), fc1.in()));
        w.values().put("decoder.layers.0.fc1.weight", scaled);

        float[] after = m.logits(ids);
        assertNotEquals(before[0], after[0]);
        OptReference.Result ref = new OptReference(spec, w).run(ids);
        for (int t = 0; t < ids.length; t++) assertTrue(maxDiff(after, t * spec.vocab(), ref.logits()[t]) <= TOLERANCE);
    }

    private static void assertFormatError(Path file, String expected, Runnable r) {
        ModelFormatException e = assertThrows(ModelFormatException.class, r::run);
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void rejectsCheckpointsThatAreNotUsableOpt() throws IOException {
        OptCheckpoints.Spec spec = OptCheckpoints.Spec.small();
        OptCheckpoints.Weights w = OptCheckpoints.generate(spec, 5);
        OptCheckpoints.write(dir, spec, w);
        Path config = dir.resolve(HfCheckpoint.CONFIG), weights = dir.resolve(HfCheckpoint.SINGLE);

        Files.writeString(config, spec.configJson("llama"));
        assertFormatError(config, "model_type \"llama\" is not supported", () -> OptModel.load(dir));
        Files.writeString(config, spec.configJson("opt").replace("\"model_type\": \"opt\",", ""));
        assertFormatError(config, "missing required field \"model_type\"", () -> OptModel.load(dir));
        Files.writeString(config, spec.configJson("opt").replace("\"relu\"", "\"gelu_new\""));
        assertFormatError(config, "activation_function \"gelu_new\" is not supported", () -> OptModel.load(dir));
        Files.writeString(config, spec.configJson("opt").replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 5"));
        assertFormatError(config, "must be a positive multiple of num_attention_heads 5", () -> OptModel.load(dir));
        Files.writeString(config, spec.configJson("opt").replace("\"ffn_dim\": 24", "\"ffn_dim\": \"big\""));
        assertFormatError(config, "field \"ffn_dim\" must be an integer", () -> OptModel.load(dir));
        Files.writeString(config, spec.configJson("opt"));

        SafetensorsWriter missing = new SafetensorsWriter();
        w.values().forEach((k, v) -> {
            if (!k.equals("decoder.layers.1.fc2.bias")) missing.addFloats("model." + k, DType.F32, w.shapes().get(k), v);
        });
        missing.write(weights);
        assertFormatError(weights, "missing tensor model.decoder.layers.1.fc2.bias", () -> OptModel.load(dir));

        SafetensorsWriter transposed = new SafetensorsWriter();
        w.values().forEach((k, v) -> {
            long[] shape = w.shapes().get(k);
            if (k.equals("decoder.layers.0.fc1.weight")) shape = new long[] {shape[1], shape[0]};
            transposed.addFloats("model." + k, DType.F32, shape, v);
        });
        transposed.write(weights);
        assertFormatError(weights, "tensor model.decoder.layers.0.fc1.weight has shape [16, 24], expected [24, 16]",
                () -> OptModel.load(dir));

        SafetensorsWriter ints = new SafetensorsWriter();
        w.values().forEach((k, v) -> {
            if (k.equals("decoder.embed_tokens.weight")) {
                ints.add("model." + k, DType.I32, w.shapes().get(k), MemorySegment.ofArray(v));
            } else {
                ints.addFloats("model." + k, DType.F32, w.shapes().get(k), v);
            }
        });
        ints.write(weights);
        assertFormatError(weights, "has dtype I32, expected F32, F16 or BF16", () -> OptModel.load(dir));
    }

    /**
     * A one-line digest of logits: count, sum and the last four values. Another JVM may round differently
     * (the Vector API's interpreted and compiled paths fuse multiply-adds differently), so digests are
     * compared with a tolerance, see {@link #digestsAgree}.
     */
    static String summary(float[] logits) {
        double sum = 0;
        for (float v : logits) sum += v;
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "n=%d sum=%.9e head=", logits.length, sum));
        for (int i = 0; i < 4; i++) s.append(String.format(Locale.ROOT, "%.9e,", logits[logits.length - 1 - i]));
        return s.toString();
    }

    /** True if two digests have the same count and values within 1e-4 (relative to the value's scale). */
    static boolean digestsAgree(String a, String b) {
        String[] x = a.split("[ =,]"), y = b.split("[ =,]");
        if (x.length != y.length || !x[1].equals(y[1]) || !x[0].equals("n")) return false;
        for (int i = 2; i < x.length; i++) {
            if (x[i].isEmpty() || x[i].matches("[a-z]+")) {
                if (!x[i].equals(y[i])) return false;
                continue;
            }
            double u = Double.parseDouble(x[i]), v = Double.parseDouble(y[i]);
            if (Math.abs(u - v) > 1e-4 * Math.max(1, Math.abs(u))) return false;
        }
        return true;
    }

    @Test
    void loadsAModelLargerThanTheHeapInAChildJvm() throws Exception {
        // ~200 MB of F32 weights; the child runs with a 64 MB heap, so they must stay memory-mapped.
        OptCheckpoints.Spec spec = OptCheckpoints.Spec.small().sized(4096, 512, 16, 8, 2048, 64);
        OptCheckpoints.write(dir, spec, OptCheckpoints.generate(spec, 11));
        long bytes = Files.size(dir.resolve(HfCheckpoint.SINGLE));
        assertTrue(bytes > 3 * 64L << 20, "checkpoint is " + bytes + " bytes");
        int[] ids = {3, 17, 99, 4000};
        String expected = summary(OptModel.load(dir).logits(ids));

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), OptHeapChild.class.getName(), dir.toString()));
        for (int id : ids) cmd.add(Integer.toString(id));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.lines().anyMatch(l -> digestsAgree(expected, l)), "child printed:\n" + out + "\nexpected: " + expected);
    }
}
