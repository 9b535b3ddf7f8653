package cptquant.eval;

import cptquant.io.DataPaths;
import cptquant.io.ModelFormatException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The WikiText-2 (raw) test corpus as the GPTQ and AWQ papers feed it to perplexity:
 * {@code "\n\n".join(load_dataset('wikitext', 'wikitext-2-raw-v1', split='test')['text'])}.
 *
 * <p>How the Hugging Face rows relate to {@code wiki.test.raw}: the dataset's loading script reads the file
 * line by line and yields one row per line, the line itself (trailing {@code "\n"} kept) when it has
 * non-whitespace characters and {@code ""} otherwise. So blank lines are rows too, and the row count equals
 * the file's line count. Checked on the shared file: 4,358 lines (LF endings, no CR), 1,467 of them blank
 * (each a single space), giving 4,358 rows as the dataset card states and a joined text of 1,294,336
 * characters that starts {@code "\n\n = Robert Boulter = \n"}. (Dropping the blank rows instead, as one
 * might guess, changes the blank-line spacing of the text and hence its tokens.)
 */
public final class WikiText {
    /** The test split, relative to the shared data folder. */
    public static final String TEST = "data/wikitext-2-raw/wiki.test.raw";

    private WikiText() {}

    /** The GPTQ perplexity text of the shared test split. */
    public static String testText() {
        return join(rows(DataPaths.resolve(TEST)));
    }

    /** The Hugging Face dataset rows of a raw WikiText file: one per line, blank lines as "". */
    public static List<String> rows(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file, "missing (real data lives in ../shared; set CPTQUANT_SHARED to move it)");
        }
        String all;
        try {
            all = Files.readString(file);
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(file, "not UTF-8 text", e);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read (" + e.getMessage() + ")", e);
        }
        List<String> rows = new ArrayList<>();
        int start = 0;
        while (start < all.length()) {
            int nl = all.indexOf('\n', start);
            int end = nl < 0 ? all.length() : nl + 1;
            String line = all.substring(start, end);
            rows.add(line.isBlank() ? "" : line);
            start = end;
        }
        return rows;
    }

    /** The rows joined with blank lines, as GPTQ's {@code "\n\n".join(...)}. */
    public static String join(List<String> rows) {
        return String.join("\n\n", rows);
    }
}
