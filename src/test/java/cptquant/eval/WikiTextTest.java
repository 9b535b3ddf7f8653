package cptquant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WikiTextTest {

    @Test
    void realTestSplitHasTheDatasetRows() {
        List<String> rows = WikiText.rows(TestData.require(WikiText.TEST));
        assertEquals(4358, rows.size());
        assertEquals("", rows.get(0));
        assertEquals(" = Robert Boulter = \n", rows.get(1));
        assertEquals(1467, rows.stream().filter(String::isEmpty).count());
        assertTrue(rows.stream().allMatch(r -> r.isEmpty() || r.endsWith("\n")));

        String text = WikiText.join(rows);
        assertEquals(1_294_336, text.length());
        assertTrue(text.startsWith("\n\n = Robert Boulter = \n\n\n\n\n Robert Boulter is an English film"));
        assertTrue(text.endsWith("Ed Parker , and Eddie Pelkey . \n\n\n"));
        assertEquals(text, WikiText.testText());
    }

    @Test
    void blankLinesAreEmptyRowsAndContentKeepsItsNewline(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("w.raw");
        Files.writeString(f, " \n = A = \n \n b \n\t\nlast");
        List<String> rows = WikiText.rows(f);
        assertEquals(List.of("", " = A = \n", "", " b \n", "", "last"), rows);
        assertEquals("\n\n = A = \n\n\n\n\n b \n\n\n\n\nlast", WikiText.join(rows));
    }
}
