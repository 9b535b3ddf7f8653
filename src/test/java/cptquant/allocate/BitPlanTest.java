package cptquant.allocate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.io.ModelFormatException;
import cptquant.quant.QuantSpec;
import cptquant.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BitPlanTest {
    @TempDir Path dir;

    @Test
    void roundTripsEverySpecKindInOrder() throws IOException {
        Map<String, QuantSpec> units = new LinkedHashMap<>();
        units.put("layers.2", new QuantSpec.Half(DType.F16));
        units.put("layers.0", new QuantSpec.Int(4, 128, false));
        units.put("layers.1", new QuantSpec.Int(8, 0, false));
        units.put("layers.3.mlp.down_proj", new QuantSpec.Int(4, 32, true));
        units.put("layers.3", new QuantSpec.Half(DType.BF16));
        BitPlan plan = new BitPlan(units, "cmpq-kmeans3", Map.of("budget_bits", "5.5"));
        Path file = dir.resolve("sub/plan.json");
        plan.write(file);
        BitPlan back = BitPlan.read(file);
        assertEquals(plan, back);
        assertEquals(List.copyOf(units.keySet()), List.copyOf(back.units().keySet()));
        try (var files = Files.list(file.getParent())) {
            assertEquals(List.of(file), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void readsTheDocumentedHandWrittenForm() throws IOException {
        Path file = write("""
                {"units":{"layers.0":{"bits":16,"group_size":0},"layers.1":{"bits":4,"group_size":128},
                          "layers.2":{"bits":8}}}""");
        BitPlan plan = BitPlan.read(file);
        assertEquals(new QuantSpec.Half(DType.F16), plan.units().get("layers.0"));
        assertEquals(new QuantSpec.Int(4, 128, false), plan.units().get("layers.1"));
        assertEquals(new QuantSpec.Int(8, 0, false), plan.units().get("layers.2"));
        assertEquals(null, plan.method());
        assertTrue(plan.metadata().isEmpty());
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
        "{\"units\":{\"layers.0\":{\"bits\":3}}}                             | unit layers.0: bits must be 4, 8 or 16, got 3",
        "{\"units\":{\"layers.0\":{\"bits\":4,\"group_size\":-1}}}           | unit layers.0: group_size must be >= 0, got -1",
        "{\"units\":{\"layers.0\":{\"bits\":4,\"groupsize\":64}}}            | unit layers.0: unknown key \"groupsize\"",
        "{\"units\":{\"layers.0\":{\"bits\":4}},\"unit\":{}}                 | plan: unknown key \"unit\"",
        "{\"units\":{\"layers.0\":{\"group_size\":64}}}                      | unit layers.0: \"bits\" (4, 8 or 16) is missing",
        "{\"units\":{\"layers.0\":{\"bits\":\"four\"}}}                      | unit layers.0: bits must be a whole number",
        "{\"units\":{\"layers.0\":{\"bits\":16,\"group_size\":128}}}         | unit layers.0: 16-bit storage has no group_size",
        "{\"units\":{\"layers.0\":{\"bits\":16,\"dtype\":\"f32\"}}}          | unit layers.0: dtype must be",
        "{\"units\":{\"layers.0\":4}}                                        | unit layers.0: expected an object",
        "{\"units\":{}}                                                      | \"units\" must be a non-empty object",
        "{\"method\":\"x\"}                                                  | \"units\" must be a non-empty object",
        "{\"units\":{\"layers.0\":{\"bits\":4}},\"metadata\":{\"a\":[1]}}    | metadata a must be a string",
        "{\"units\":{\"layers.0\":{\"bits\":4},\"layers.0\":{\"bits\":8}}}   | not valid JSON at line 1",
        "{\"units\":{\"layers.0\":{\"bits\":4}}                              | not valid JSON at line 1",
        "[1, 2]                                                              | a plan must be a JSON object",
    })
    void rejectsBadPlansWithOneLineNamingTheFile(String json, String expected) throws IOException {
        Path file = write(json);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> BitPlan.read(file));
        assertTrue(e.getMessage().startsWith(file + ": " + expected.strip()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void missingFileNamesTheFile() {
        Path file = dir.resolve("absent.json");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> BitPlan.read(file));
        assertTrue(e.getMessage().startsWith(file + ": cannot read"), e.getMessage());
    }

    private Path write(String json) throws IOException {
        Path file = dir.resolve("plan.json");
        Files.writeString(file, json);
        return file;
    }
}
