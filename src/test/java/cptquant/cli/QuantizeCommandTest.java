package cptquant.cli;

import cptquant.allocate.BitPlan;
import cptquant.model.LoadedModel;
import cptquant.model.Models;
import cptquant.quant.SizeReport;
import cptquant.tensor.PackedWeight;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

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

    @Test
    void allocationModesAreExclusiveAndSensitivityNeedsATask() {
        assertEquals(2, CliRun.of("quantize", "--model", "minilm", "--bits", "8", "--clusters", "3", "--out", dir.resolve("a").toString()).code());
        assertEquals(2, CliRun.of("quantize", "--model", "minilm", "--clusters", "3", "--out", dir.resolve("b").toString()).code());
        assertEquals(2, CliRun.of("quantize", "--model", "minilm", "--bits", "5", "--out", dir.resolve("c").toString()).code());
        assertTrue(Files.notExists(dir.resolve("b")) && Files.notExists(dir.resolve("c")));
    }
}
