package cptquant.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.eval.Perplexity;
import org.junit.jupiter.api.Test;

class EvalCommandTest {

    @Test
    void unknownTaskIsOneLineAndExitTwo() {
        CliRun r = CliRun.of("eval", "--model", "minilm", "--task", "glue");
        assertEquals(2, r.code());
        assertEquals("cptquant: unknown task 'glue' (expected one of wikitext2, imdb)", r.err().strip());
    }

    @Test
    void badArgumentsExitTwo() {
        assertEquals(2, CliRun.of("eval", "--model", "minilm", "--task", "imdb", "--limit", "0").code());
        assertEquals(2, CliRun.of("eval", "--model", "minilm", "--task", "imdb", "--seqlen", "128").code());
        assertEquals(2, CliRun.of("eval", "--model", "minilm", "--task", "wikitext2", "--train-limit", "10").code());
        assertEquals(2, CliRun.of("eval", "--model", "minilm", "--task", "wikitext2", "--limit", "many").code());
        assertEquals(2, CliRun.of("eval", "--task", "wikitext2").code());
        CliRun missing = CliRun.of("eval", "--model", "/no/such/model", "--task", "wikitext2");
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
