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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A checker outside cptquant, run with node from tools/: its check.mjs prints JSON. The npm project is
 * installed on first use; a test using it is skipped when node is absent.
 *
 * @param dir     the npm project
 * @param module  a package whose presence under node_modules means the project is installed
 * @param install npm arguments that install it
 */
public record NodeCheck(Path dir, String module, List<String> install) {
    /** @huggingface/gguf: an independent GGUF parser (prints metadata and tensor infos). */
    public static final NodeCheck GGUF = new NodeCheck(Path.of("tools/gguf-check"), "@huggingface/gguf", List.of("ci"));
    /**
     * llama.cpp itself, as node-llama-cpp's prebuilt CPU binary (greedy generation and embeddings). Other
     * platforms' binaries are optional dependencies, left out; they are also why the lock file cannot be
     * used with {@code npm ci} here.
     */
    public static final NodeCheck LLAMA_CPP = new NodeCheck(Path.of("tools/llama-check"), "node-llama-cpp",
            List.of("install", "--omit=optional", "--no-save"));

    /** check.mjs's JSON output for {@code args}; {@code scratch} holds the tools' stderr. */
    public JsonNode run(Path scratch, String... args) throws IOException, InterruptedException {
        Path node = onPath("node").orElse(null);
        assumeTrue(node != null, "skipped: node is not on PATH (needed to run " + dir + ")");
        if (!Files.isDirectory(dir.resolve("node_modules").resolve(module))) {
            Path npm = onPath("npm").orElseThrow(() -> new AssertionError("node is on PATH but npm is not; cannot install " + dir));
            List<String> command = new ArrayList<>(List.of(npm.toString()));
            command.addAll(install);
            command.addAll(List.of("--prefix", dir.toString()));
            exec(command, 600, scratch);
        }
        List<String> command = new ArrayList<>(List.of(node.toString(), dir.resolve("check.mjs").toString()));
        command.addAll(List.of(args));
        return new ObjectMapper().readTree(exec(command, 120, scratch));
    }

    /** Asserts an array summary of tools/gguf-check: element type, length and first element. */
    public static void assertArray(JsonNode summary, String subType, int length, String first) {
        assertEquals("ARRAY", summary.get("type").asText());
        assertEquals(subType, summary.get("subType").asText());
        assertEquals(length, summary.get("length").asInt());
        assertEquals(first, summary.get("first").asText());
    }

    /** Runs a command from the project root; its stdout, or a failure carrying its stderr. */
    private static String exec(List<String> command, int timeoutSeconds, Path scratch) throws IOException, InterruptedException {
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
