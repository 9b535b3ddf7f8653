package cptquant.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import cptquant.allocate.BitPlan;
import cptquant.io.HfCheckpoint;
import cptquant.io.JsonOut;
import cptquant.io.QuantizedCheckpoint;
import cptquant.io.Safetensors;
import cptquant.model.CausalLM;
import cptquant.model.LoadedModel;
import cptquant.model.Models;
import cptquant.model.OptCheckpoints;
import cptquant.quant.ModelQuantizer;
import cptquant.quant.QuantSpec;
import cptquant.tokenize.HfTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-format decode benchmark, end to end on a tiny OPT checkpoint: saved formats measured in child JVMs. */
class DecodeBenchTest {
    /** Every tensor a decoded token reads: block linear weights (dense, or packed codes, scales, zeros) and the tied head. */
    private static final Pattern READ_PER_TOKEN = Pattern.compile(
            "model\\.decoder\\.(layers\\.\\d+\\.(self_attn\\.(q|k|v|out)_proj|fc1|fc2)|embed_tokens)"
                    + "\\.weight(_packed|_scale|_zero_point)?");
    private static final boolean LINUX = Files.isReadable(Path.of("/proc/self/status"));

    @TempDir Path dir;

    @Test
    void fp32AndW4AreMeasuredInChildJvmsWithTheBytesTheirFilesStore() throws IOException {
        Path source = dir.resolve("opt");
        OptCheckpoints.Spec spec = OptCheckpoints.Spec.small();
        OptCheckpoints.write(source, spec, OptCheckpoints.generate(spec, 7));
        Files.write(source.resolve("tokenizer.json"), HfTokenizer.minilm().json());

        DecodeBench.ModelFigures figures = DecodeBench.measure("tiny", source,
                List.of(DecodeBench.Format.FP32, DecodeBench.Format.W4), new DecodeBench.Settings(4, 6, 1, 2, 1));

        JsonNode json = JsonOut.MAPPER.readTree(JsonOut.toJson(figures));
        assertEquals(4, json.get("decodeTokens").asInt());
        assertEquals(6, json.get("prefillTokens").asInt());
        assertEquals(2, json.get("rounds").asInt());
        JsonNode formats = json.get("formats");
        assertEquals(2, formats.size());
        assertEquals("fp32", formats.get(0).get("format").asText());
        assertEquals("w4-g128 (head w8)", formats.get(1).get("format").asText());
        for (JsonNode f : formats) {
            assertTrue(f.get("decodeTokensPerS").asDouble() > 0, f.toString());
            assertEquals(2, f.get("decodeRounds").size(), f.toString());
            assertTrue(f.get("prefillTokensPerS").asDouble() > 0, f.toString());
            double bandwidth = f.get("bandwidthGBs").asDouble();
            assertTrue(bandwidth > 0.1 && bandwidth < 10_000, "child's read bandwidth " + bandwidth + " GB/s");
            assertEquals(bandwidth * 1e9 / (f.get("weightMB").asDouble() * 1e6), f.get("boundTokensPerS").asDouble(),
                    1e-9 * f.get("boundTokensPerS").asDouble());
            if (LINUX) {
                assertTrue(f.at("/afterDecode/rssMB").asDouble() > 0, f.toString());
                assertTrue(f.at("/afterDecode/peakMB").asDouble() >= f.at("/afterDecode/rssMB").asDouble(), f.toString());
            }
        }
        if (LINUX) assertTrue(json.at("/baseline/rssMB").asDouble() > 0, json.toString());
        else assertTrue(json.get("note").asText().contains("/proc/self/status"), json.toString());
        assertEquals(1.0, formats.get(0).get("speedupVsFp32").asDouble());

        assertEquals(storedBytes(source) / 1e6, figures.formats().get(0).weightMB());
        Path w4 = dir.resolve("w4");
        LoadedModel loaded = Models.load(source.toString());
        BitPlan plan = DecodeBench.Format.W4.plan((CausalLM) loaded.model());
        assertEquals(new QuantSpec.Int(8, 0, false), plan.units().get(CausalLM.LM_HEAD), "the head is kept at W8");
        ModelQuantizer.apply(loaded.model(), plan.units());
        QuantizedCheckpoint.write(loaded, plan, w4);
        assertEquals(storedBytes(w4) / 1e6, figures.formats().get(1).weightMB());
        assertTrue(figures.formats().get(1).weightMB() < figures.formats().get(0).weightMB() / 2);
    }

    @Test
    void aFailedChildIsOneLineNamingTheFormatAndTheChildsError() {
        IOException e = assertThrows(IOException.class, () -> DecodeBench.child("w8",
                List.of(dir.resolve("missing").toString(), "1", "2", "2", "1"), dir, DecodeBench.Measurement.class));
        assertTrue(e.getMessage().startsWith("w8: child JVM exited with status 1: cptquant: "), e.getMessage());
        assertTrue(e.getMessage().contains("missing: no such file or directory"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void residentMemoryIsReadFromProcStatusInMegabytes() {
        ResidentMemory m = ResidentMemory.parse(List.of("Name:\tjava", "VmHWM:\t  200000 kB", "VmRSS:\t  150000 kB",
                "RssAnon:\t  100000 kB", "RssFile:\t   50000 kB"));
        assertEquals(new ResidentMemory(153.6, 204.8, 51.2, 102.4), m);
        ResidentMemory base = new ResidentMemory(50.0, 60.0, 20.0, 30.0);
        assertEquals(103.6, m.minus(base).rssMB(), 1e-9);
        assertEquals(72.4, m.minus(base).anonMB(), 1e-9);
        ResidentMemory old = ResidentMemory.parse(List.of("VmRSS:\t  1000 kB")); // kernels before 4.5 lack RssFile
        assertNull(old.fileMB());
        assertNull(m.minus(old).fileMB());
    }

    /** Bytes of the tensors of {@code dir}'s model.safetensors that every decoded token reads. */
    private static long storedBytes(Path dir) {
        Safetensors file = Safetensors.open(dir.resolve(HfCheckpoint.SINGLE));
        long bytes = 0;
        for (String name : file.names()) {
            if (READ_PER_TOKEN.matcher(name).matches()) bytes += file.tensor(name).data().byteSize();
        }
        return bytes;
    }
}
