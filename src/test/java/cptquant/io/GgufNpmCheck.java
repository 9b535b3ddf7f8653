package cptquant.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs tools/gguf-check, which reads a GGUF file with the npm package @huggingface/gguf (a parser
 * independent of cptquant), and returns what it saw as JSON. Skips the calling test when node is absent.
 */
public final class GgufNpmCheck {
    private static final Path TOOL = Path.of("tools/gguf-check");

    private GgufNpmCheck() {}

    /** check.mjs's JSON for {@code file}; {@code scratch} holds the tools' stderr. */
    public static JsonNode read(Path file, Path scratch) throws IOException, InterruptedException {
        Path node = onPath("node").orElse(null);
        assumeTrue(node != null, "skipped: node is not on PATH (needed to run tools/gguf-check with @huggingface/gguf)");
        if (!Files.isDirectory(TOOL.resolve("node_modules/@huggingface/gguf"))) {
            Path npm = onPath("npm").orElseThrow(() -> new AssertionError("node is on PATH but npm is not; cannot install tools/gguf-check"));
            run(List.of(npm.toString(), "ci", "--prefix", TOOL.toString()), 300, scratch);
        }
        return new ObjectMapper().readTree(run(List.of(node.toString(), TOOL.resolve("check.mjs").toString(), file.toString()), 60, scratch));
    }

    /** Asserts an array summary: element type, length and first element. */
    public static void assertArray(JsonNode summary, String subType, int length, String first) {
        assertEquals("ARRAY", summary.get("type").asText());
        assertEquals(subType, summary.get("subType").asText());
        assertEquals(length, summary.get("length").asInt());
        assertEquals(first, summary.get("first").asText());
    }

    /** Runs a command from the project root; its stdout, or a failure carrying its stderr. */
    private static String run(List<String> command, int timeoutSeconds, Path scratch) throws IOException, InterruptedException {
        Path err = Files.createTempFile(scratch, "stderr", ".txt");
        Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " did not finish in " + timeoutSeconds + " s");
        }
        if (p.exitValue() != 0) {
            throw new AssertionError(command + " exited " + p.exitValue() + ":\n" + Files.readString(err));
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    private static Optional<Path> onPath(String program) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(d -> !d.isEmpty())
                .map(d -> Path.of(d, program))
                .filter(Files::isExecutable)
                .findFirst();
    }
}
