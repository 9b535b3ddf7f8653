package cptquant.io;

import cptquant.quant.GgmlType;
import java.util.Optional;

/**
 * One tensor as a GGUF file describes it. {@code ne} lists dimensions innermost first (ne[0] is the
 * contiguous row length); {@code offset} is relative to the start of the data section.
 * {@code ggmlType} is the raw id, since files written by llama.cpp use types cptquant does not decode.
 */
public record GgufTensorInfo(String name, int ggmlType, long[] ne, long offset) {

    /** The tensor's type, if it is one cptquant knows. */
    public Optional<GgmlType> type() {
        return GgmlType.byId(ggmlType);
    }

    /** Number of values. */
    public long count() {
        long n = 1;
        for (long d : ne) n *= d;
        return n;
    }
}
