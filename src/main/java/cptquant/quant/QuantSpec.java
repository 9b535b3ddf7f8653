package cptquant.quant;

import cptquant.tensor.DType;

/** How one linear module's weight is stored: a 16-bit float type, or packed integers with scales. */
public sealed interface QuantSpec {

    /** Nominal bits per weight (4, 8 or 16), the number plans talk about. */
    int bits();

    /** FP16 or BF16 storage (the paper's "16-bit"). */
    record Half(DType dtype) implements QuantSpec {
        public Half {
            if (dtype != DType.F16 && dtype != DType.BF16) {
                throw new IllegalArgumentException("16-bit storage must be F16 or BF16, got " + dtype);
            }
        }

        @Override public int bits() { return 16; }
    }

    /**
     * Uniform integer quantization with {@code bits} of 4 or 8, one FP16 scale (and integer zero point
     * when asymmetric) per output channel ({@code groupSize} 0) or per group of {@code groupSize} inputs.
     */
    record Int(int bits, int groupSize, boolean symmetric) implements QuantSpec {
        public Int {
            if (bits != 4 && bits != 8) throw new IllegalArgumentException("integer bits must be 4 or 8, got " + bits);
            if (groupSize < 0) throw new IllegalArgumentException("group size must be >= 0, got " + groupSize);
        }

        /** Largest code: 2^bits - 1 (codes are unsigned; the zero point recentres them). */
        public int qmax() { return (1 << bits) - 1; }
    }

    /** Spec for nominal bits: 16 = FP16, 8/4 = asymmetric integer with the given group size. */
    static QuantSpec of(int bits, int groupSize) {
        return switch (bits) {
            case 16 -> new Half(DType.F16);
            case 8, 4 -> new Int(bits, groupSize, false);
            default -> throw new IllegalArgumentException("bits must be 4, 8 or 16, got " + bits);
        };
    }

    /** Short label: "f16", "bf16", "int8", "int4-g128", "int4-sym". */
    default String label() {
        return switch (this) {
            case Half h -> h.dtype().name().toLowerCase(java.util.Locale.ROOT);
            case Int i -> "int" + i.bits() + (i.groupSize() > 0 ? "-g" + i.groupSize() : "") + (i.symmetric() ? "-sym" : "");
        };
    }
}
