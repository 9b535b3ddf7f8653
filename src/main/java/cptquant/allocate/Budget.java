package cptquant.allocate;

import java.util.Locale;

/** How much storage the block linears of a quantized model may take. */
public sealed interface Budget {

    /**
     * The byte budget this means for linears holding {@code weights} weights, when the cheapest plan
     * stores {@code overheadBytes} beyond its nominal bits (scales, zero points and row padding; per unit,
     * its bytes minus floor(bits / 8 * weights), see {@link BudgetAllocator#overheadBytes}).
     */
    long toBytes(long weights, long overheadBytes);

    /** Short human form for plan metadata, e.g. "5.50 bits/weight" or "123456 bytes". */
    String label();

    /**
     * An average of {@code bits} nominal bits per quantizable weight: the byte budget is
     * {@code floor(bits / 8 * weights) + overheadBytes}, i.e. the codes may average {@code bits} bits and
     * the scales, zero points and padding that the cheapest plan stores anyway come on top. So with
     * options int4/int8 of one group size and FP16, {@code AverageBits(4)} admits exactly the all-4-bit
     * plan, {@code AverageBits(8)} the all-8-bit plan (same scales) and {@code AverageBits(16)} all-FP16.
     */
    record AverageBits(double bits) implements Budget {
        public AverageBits {
            if (!(bits > 0) || !Double.isFinite(bits)) throw new IllegalArgumentException("average bits must be positive, got " + bits);
        }

        @Override
        public long toBytes(long weights, long overheadBytes) {
            return (long) Math.floor(bits / 8 * weights) + overheadBytes;
        }

        @Override
        public String label() { return String.format(Locale.ROOT, "%.2f bits/weight", bits); }
    }

    /** At most {@code bytes} bytes for the linears, scales and zero points included. */
    record MaxSize(long bytes) implements Budget {
        public MaxSize {
            if (bytes <= 0) throw new IllegalArgumentException("size budget must be positive, got " + bytes);
        }

        @Override
        public long toBytes(long weights, long overheadBytes) { return bytes; }

        @Override
        public String label() { return bytes + " bytes"; }
    }
}
