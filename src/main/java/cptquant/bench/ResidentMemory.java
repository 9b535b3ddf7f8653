package cptquant.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * This process's resident memory in MB (10^6 bytes) as Linux reports it in /proc/self/status; a field is
 * null where the kernel does not report it, and every field is null on other systems.
 *
 * @param rssMB  resident set now (VmRSS)
 * @param peakMB the highest resident set so far (VmHWM)
 * @param fileMB resident pages of mapped files (RssFile): memory-mapped weights, the JVM's own libraries
 * @param anonMB resident anonymous pages (RssAnon): the Java heap, off-heap buffers, thread stacks
 */
public record ResidentMemory(Double rssMB, Double peakMB, Double fileMB, Double anonMB) {
    private static final Path STATUS = Path.of("/proc/self/status");

    /** Read now; all null where /proc/self/status does not exist. */
    public static ResidentMemory now() {
        if (!Files.isReadable(STATUS)) return new ResidentMemory(null, null, null, null);
        try {
            return parse(Files.readAllLines(STATUS));
        } catch (IOException e) {
            throw new UncheckedIOException(STATUS + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    /** The fields of /proc/self/status lines such as "VmRSS:	  123456 kB". */
    static ResidentMemory parse(List<String> lines) {
        return new ResidentMemory(field(lines, "VmRSS"), field(lines, "VmHWM"), field(lines, "RssFile"), field(lines, "RssAnon"));
    }

    private static Double field(List<String> lines, String name) {
        for (String line : lines) {
            if (!line.startsWith(name + ":")) continue;
            String[] parts = line.substring(name.length() + 1).trim().split("\\s+");
            if (parts.length != 2 || !parts[1].equals("kB")) {
                throw new IllegalStateException(STATUS + ": unexpected line \"" + line + "\"");
            }
            return Long.parseLong(parts[0]) * 1024 / 1e6;
        }
        return null;
    }

    /** {@code this - base} field by field: what a process holds beyond a baseline; null where either is. */
    public ResidentMemory minus(ResidentMemory base) {
        return new ResidentMemory(diff(rssMB, base.rssMB), diff(peakMB, base.peakMB), diff(fileMB, base.fileMB),
                diff(anonMB, base.anonMB));
    }

    private static Double diff(Double a, Double b) { return a == null || b == null ? null : a - b; }
}
