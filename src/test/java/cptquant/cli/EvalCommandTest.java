package cptquant.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.eval.Perplexity;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class EvalCommandTest {

    /** Runs the CLI, returning the exit code and what it wrote to stderr. */
    private record Run(int code, String err) {}

    private static Run run(String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            return new Run(Main.run(args), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(saved);
        }
    }

    @Test
    void unknownTaskIsOneLineAndExitTwo() {
        Run r = run("eval", "--model", "minilm", "--task", "glue");
        assertEquals(2, r.code());
        assertEquals("cptquant: unknown task 'glue' (expected one of wikitext2, imdb)", r.err().strip());
    }

    @Test
    void badArgumentsExitTwo() {
        assertEquals(2, run("eval", "--model", "minilm", "--task", "imdb", "--limit", "0").code());
        assertEquals(2, run("eval", "--model", "minilm", "--task", "imdb", "--seqlen", "128").code());
        assertEquals(2, run("eval", "--model", "minilm", "--task", "wikitext2", "--train-limit", "10").code());
        assertEquals(2, run("eval", "--model", "minilm", "--task", "wikitext2", "--limit", "many").code());
        assertEquals(2, run("eval", "--task", "wikitext2").code());
        Run missing = run("eval", "--model", "/no/such/model", "--task", "wikitext2");
        assertEquals(2, missing.code());
        assertTrue(missing.err().startsWith("cptquant: /no/such/model"), missing.err());
        assertEquals(1, missing.err().strip().lines().count());
    }

    @Test
    void tableListsHeaderAndResultFields() {
        var report = new EvalCommand.Report("wikitext2", "m", "opt", 4,
                new Perplexity.Result(27.651234, Math.log(27.651234), 2047, 1, 2048, 1.5));
        String table = EvalCommand.table(report);
        assertTrue(table.startsWith("task           wikitext2\n"), table);
        assertTrue(table.contains("ppl            27.6512\n"), table);
        assertTrue(table.contains("windows        1\n"), table);
    }
}
