package cptquant.quant;

import cptquant.tensor.DType;
import cptquant.tensor.DenseWeight;
import cptquant.tensor.PackedWeight;
import cptquant.tensor.Weight;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Round-to-nearest weight quantization (the paper's uniform min-max quantizer) into real storage formats.
 *
 * <p>Asymmetric: per group, lo = min(min w, 0), hi = max(max w, 0), scale = (hi - lo) / (2^b - 1),
 * zero = round(-lo / scale), q = clamp(round(w / scale) + zero, 0, 2^b - 1). Including 0 in the range
 * (as GPTQ's quantizer does) keeps the zero point an in-range byte; weight groups straddle 0 anyway.
 * The scale is stored as FP16, rounded up so the range never clips; codes are computed with that
 * stored scale so dequantization is exactly what the file implies.
 */
public final class Quantizer {
    private Quantizer() {}

    /** {@code w} re-stored as {@code spec}; the source may be any format (it is dequantized first). */
    public static Weight quantize(Weight w, QuantSpec spec) {
        float[] f = w.toFloat();
        return switch (spec) {
            case QuantSpec.Half h -> toHalf(f, w.outFeatures(), w.inFeatures(), h.dtype());
            case QuantSpec.Int i -> toInt(f, w.outFeatures(), w.inFeatures(), i);
        };
    }

    /** The group size actually used: per-channel (the whole row) when the spec says 0 or at least in. */
    public static int effectiveGroup(QuantSpec.Int spec, int in) {
        return spec.groupSize() == 0 || spec.groupSize() >= in ? in : spec.groupSize();
    }

    /** FP16 or BF16 copy of a row-major out x in matrix (round to nearest even). */
    public static DenseWeight toHalf(float[] w, int out, int in, DType dtype) {
        MemorySegment seg = MemorySegment.ofArray(new short[w.length]);
        for (int i = 0; i < w.length; i++) {
            seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, dtype == DType.F16 ? Float.floatToFloat16(w[i]) : toBf16(w[i]));
        }
        return new DenseWeight(dtype, out, in, seg);
    }

    /** BF16 bits of {@code f}, rounded to nearest even (NaN stays NaN). */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** Packs a row-major out x in matrix into integer codes per {@code spec}. */
    public static PackedWeight toInt(float[] w, int out, int in, QuantSpec.Int spec) {
        int group = effectiveGroup(spec, in);
        if (in % group != 0) {
            throw new IllegalArgumentException("group size " + group + " does not divide the input width " + in);
        }
        int groups = in / group, qmax = spec.qmax(), bits = spec.bits();
        int rowBytes = PackedWeight.rowBytes(bits, in);
        byte[] codes = new byte[out * rowBytes];
        short[] scales = new short[out * groups];
        byte[] zeros = spec.symmetric() ? null : new byte[out * groups];
        for (int r = 0; r < out; r++) {
            for (int g = 0; g < groups; g++) {
                int from = r * in + g * group, to = from + group;
                float lo = 0, hi = 0;
                for (int i = from; i < to; i++) { lo = Math.min(lo, w[i]); hi = Math.max(hi, w[i]); }
                float s;
                int zero;
                if (spec.symmetric()) {
                    s = storedScale(Math.max(-lo, hi) / ((qmax - 1) / 2f));
                    zero = 1 << (bits - 1);
                } else {
                    s = storedScale((hi - lo) / qmax);
                    zero = Math.clamp(Math.round(-lo / s), 0, qmax);
                    zeros[r * groups + g] = (byte) zero;
                }
                scales[r * groups + g] = Float.floatToFloat16(s);
                for (int i = from; i < to; i++) {
                    int q = Math.clamp(Math.round(w[i] / s) + zero, 0, qmax);
                    int c = i - r * in;
                    if (bits == 8) {
                        codes[r * rowBytes + c] = (byte) q;
                    } else {
                        codes[r * rowBytes + (c >> 1)] |= (byte) ((c & 1) == 0 ? q : q << 4);
                    }
                }
            }
        }
        return new PackedWeight(bits, group, out, in, MemorySegment.ofArray(codes), MemorySegment.ofArray(scales),
                zeros == null ? null : MemorySegment.ofArray(zeros));
    }

    /**
     * The FP16 value to store for a wanted scale: never below the wanted one (so the range cannot clip),
     * never zero (an all-zero group gets the smallest normal scale and codes equal to its zero point).
     */
    static float storedScale(float wanted) {
        if (!(wanted > 0)) return Float.float16ToFloat((short) 0x0400);
        short h = Float.floatToFloat16(wanted);
        if (Float.float16ToFloat(h) < wanted) h++;
        return Float.float16ToFloat(h);
    }
}
