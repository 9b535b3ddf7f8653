package cptquant;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import cptquant.io.DataPaths;
import java.nio.file.Path;

/** Real inputs from ../shared for tests; a test that needs one is skipped, with the reason, when absent. */
public final class TestData {
    private TestData() {}

    /** The shared file, or skips the calling test with a clear message when it is missing. */
    public static Path require(String relative) {
        Path p = DataPaths.resolve(relative);
        assumeTrue(DataPaths.has(relative), () -> "skipped: " + p + " is absent (real data lives in ../shared)");
        return p;
    }
}
