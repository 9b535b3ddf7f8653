package cptquant.io;

import java.nio.file.Path;

/** Where derived artefacts that are costly to recompute (fitted classifier heads) are kept between runs. */
public final class CachePaths {
    private CachePaths() {}

    /** $CPTQUANT_CACHE if set, else ~/.cache/cptquant. */
    public static Path root() {
        String env = System.getenv("CPTQUANT_CACHE");
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of(System.getProperty("user.home"), ".cache", "cptquant");
    }
}
