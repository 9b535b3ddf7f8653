package cptquant.cli;

import cptquant.allocate.BitPlan;
import cptquant.model.CausalLM;
import cptquant.model.LoadedModel;
import cptquant.model.Models;
import cptquant.model.OptCheckpoints;
import cptquant.quant.ModelQuantizer;
import cptquant.quant.QuantSpec;
import cptquant.quant.SizeReport;
import cptquant.tensor.DType;
import cptquant.tokenize.HfTokenizer;
import cptquant.tensor.PackedWeight;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantizeCommandTest {
    @TempDir Path dir;

    @Test
    void sizesParseWithDecimalAndBinaryUnits() {
        assertEquals(12_000_000, QuantizeCommand.parseSize("12000000"));
        assertEquals(12_000_000, QuantizeCommand.parseSize("12MB"));
        assertEquals((long) (11.5 * 1024 * 1024), QuantizeCommand.parseSize("11.5MiB"));
        assertEquals(2_000, QuantizeCommand.parseSize(" 2 kb "));
        assertThrows(IllegalArgumentException.class, () -> QuantizeCommand.parseSize("twelve"));
    }

    @Test
    void anEditedPlanIsAppliedAndTheOutputLoadsWithoutTheOriginal() throws Exception {
        Path plan = dir.resolve("plan.json");
        Files.writeString(plan, """
                {"units": {"layers.0": {"bits": 4, "group_size": 32}, "layers.1": {"bits": 8},
                           "layers.2": {"bits": 16}, "layers.3": {"bits": 4}, "layers.4": {"bits": 8}, "layers.5": {"bits": 16}}}""");
        Path out = dir.resolve("q");
        assertEquals(0, Main.run("quantize", "--model", "minilm", "--plan", plan.toString(), "--out", out.toString()));
        assertEquals(BitPlan.read(plan).units(), BitPlan.read(out.resolve("plan.json")).units());

        LoadedModel q = Models.load(out.toString());
        var l0 = assertInstanceOf(PackedWeight.class, q.model().blocks().get(0).linears().get(0).weight());
        assertEquals(4, l0.bits());
        assertEquals(32, l0.groupSize());
        assertEquals(8, ((PackedWeight) q.model().blocks().get(1).linears().get(0).weight()).bits());
        long stored = Files.size(out.resolve("model.safetensors"));
        long counted = SizeReport.of(q.model(), 2).totalBytes();
        assertTrue(stored >= counted && stored < counted + 100_000, stored + " vs " + counted);
    }

    /** A seeded F16 OPT (saved losslessly) whose vocabulary fits MiniLM's tokenizer, standing in for OPT's. */
    private Path opt() throws Exception {
        OptCheckpoints.Spec spec = new OptCheckpoints.Spec(HfTokenizer.minilm().vocabSize(), 32, 2, 4, 64, 64, 32,
                true, true, true, "relu", DType.F16, true, 1);
        Path source = dir.resolve("opt");
        OptCheckpoints.write(source, spec, OptCheckpoints.generate(spec, 3));
        Files.write(source.resolve("tokenizer.json"), HfTokenizer.minilm().json());
        return source;
    }

    @Test
    void headBitsStoreThePackedHeadAndTheOutputGeneratesWithoutTheOriginal() throws Exception {
        Path source = opt(), out = dir.resolve("q");
        CliRun run = CliRun.of("quantize", "--model", source.toString(), "--bits", "4", "--group-size", "16",
                "--head-bits", "8", "--head-group-size", "16", "--out", out.toString());
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("LM head                      int8-g16"), run.out());

        LoadedModel.Causal q = (LoadedModel.Causal) Models.load(out.toString());
        PackedWeight head = assertInstanceOf(PackedWeight.class, q.model().lmHead().weight());
        assertEquals(8, head.bits());
        assertEquals(16, head.groupSize());
        LoadedModel.Causal expected = (LoadedModel.Causal) Models.load(source.toString());
        ModelQuantizer.applyUniform(expected.model(), new QuantSpec.Int(4, 16, false));
        ModelQuantizer.apply(expected.model(), Map.of(CausalLM.LM_HEAD, new QuantSpec.Int(8, 16, false)));
        int[] tokens = q.tokenizer().encode("the saved head", 16);
        float[] want = expected.model().logits(tokens);
        float[] got = q.model().logits(tokens);
        float tol = 0;
        for (float v : want) tol = Math.max(tol, 1e-5f * Math.abs(v));
        assertArrayEquals(want, got, tol);

        CliRun generated = CliRun.of("generate", "--model", out.toString(), "--prompt", "the saved head",
                "--max-tokens", "4", "--threads", "1");
        assertEquals(0, generated.code(), generated.err());
    }

    @Test
    void badHeadOptionsAreOneLineErrorsNamingTheOption() throws Exception {
        Path source = opt();
        assertOneLineError(CliRun.of("quantize", "--model", "minilm", "--bits", "8", "--head-bits", "8",
                "--out", dir.resolve("a").toString()), "--head-bits: a bert model has no LM head");
        assertOneLineError(CliRun.of("quantize", "--model", source.toString(), "--bits", "8", "--head-bits", "5",
                "--out", dir.resolve("b").toString()), "--head-bits must be 4, 8 or 16, got 5");
        assertOneLineError(CliRun.of("quantize", "--model", source.toString(), "--bits", "8", "--head-bits", "4",
                "--head-group-size", "12", "--out", dir.resolve("c").toString()), "--head-group-size 12 does not divide");
        assertOneLineError(CliRun.of("quantize", "--model", source.toString(), "--bits", "8", "--head-group-size", "16",
                "--out", dir.resolve("d").toString()), "--head-group-size needs --head-bits");
        for (String d : new String[] {"a", "b", "c", "d"}) assertTrue(Files.notExists(dir.resolve(d)), d);
    }

    private static void assertOneLineError(CliRun r, String fragment) {
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(fragment), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void allocationModesAreExclusiveAndSensitivityNeedsATask() {
        assertEquals(2, CliRun.of("quantize", "--model", "minilm", "--bits", "8", "--clusters", "3", "--out", dir.resolve("a").toString()).code());
        assertEquals(2, CliRun.of("quantize", "--model", "minilm", "--clusters", "3", "--out", dir.resolve("b").toString()).code());
        assertEquals(2, CliRun.of("quantize", "--model", "minilm", "--bits", "5", "--out", dir.resolve("c").toString()).code());
        assertTrue(Files.notExists(dir.resolve("b")) && Files.notExists(dir.resolve("c")));
    }
}
