package cptquant.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's first command: the whole method on the embedded MiniLM, with no data set present. */
class DemoCommandTest {
    @Test
    void demoReportsEveryConfigurationOnTheEmbeddedModel(@TempDir Path dir) throws Exception {
        assertEquals(0, Main.run("demo", "--out", dir.toString()));
        JsonNode r = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
        assertEquals("embed", r.get("task").asText());
        JsonNode uniform = r.get("uniform");
        double f16 = uniform.get(0).get("damage").asDouble(), int8 = uniform.get(1).get("damage").asDouble(),
                int4 = uniform.get(2).get("damage").asDouble();
        // cosine drops grow as bits shrink; FP16 changes embeddings by rounding only
        assertTrue(Math.abs(f16) < 1e-4 && f16 < int8 && int8 < int4, f16 + " " + int8 + " " + int4);
        assertEquals(3, r.get("methods").size());
        for (JsonNode m : r.get("methods")) {
            assertEquals(6, m.get("profile").get("units").size());
            assertTrue(m.get("budgetSameSize").get("bytes").asLong() <= m.get("kmeans").get("bytes").asLong());
        }
        String md = Files.readString(dir.resolve("report.md"));
        assertTrue(md.contains("| uniform int8 |") && md.contains("| CMPQ |"), md);
        assertTrue(Files.size(dir.resolve("pareto.png")) > 0);
    }
}
