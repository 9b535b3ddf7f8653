package cptquant.io;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the real data sets and models live: $CPTQUANT_SHARED if set, else "../shared" beside the
 * project root (the launcher passes the root as -Dcptquant.home; tests run from it).
 */
public final class DataPaths {
    private DataPaths() {}

    /** The shared folder (it may not exist on a user's machine). */
    public static Path shared() {
        String env = System.getenv("CPTQUANT_SHARED");
        if (env != null && !env.isBlank()) return Path.of(env);
        String home = System.getProperty("cptquant.home", System.getProperty("user.dir"));
        return Path.of(home).toAbsolutePath().normalize().resolveSibling("shared");
    }

    /** A file under the shared folder, e.g. {@code resolve("data/imdb/test.jsonl.gz")}. */
    public static Path resolve(String relative) {
        return shared().resolve(relative);
    }

    /** True if the shared file exists. */
    public static boolean has(String relative) {
        return Files.exists(resolve(relative));
    }
}
