package cptquant.quant;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encoders and decoders for ggml's reference block formats (F32, F16, Q8_0, Q4_0, Q4_1), producing the
 * same bytes as ggml's {@code quantize_row_*_ref}: scales are computed in float32, codes from the
 * unrounded scale, and the scale is stored as fp16 (round to nearest even). Kernel-free: these run once
 * per export, not per token.
 *
 * <p>4-bit blocks put code j of the block in the low nibble of byte j and code j + 16 in its high
 * nibble (not adjacent pairs, unlike cptquant's own packed weights).
 */
public final class GgmlBlocks {
    private GgmlBlocks() {}

    /**
     * Appends {@code count} values of {@code src} from {@code from} to {@code dst} (little-endian) in
     * {@code type}; {@code count} must be a whole number of blocks.
     */
    public static void encode(GgmlType type, float[] src, int from, int count, ByteBuffer dst) {
        ByteBuffer out = dst.order(ByteOrder.LITTLE_ENDIAN);
        type.bytes(count); // throws unless count is a whole number of blocks
        int step = type.blockSize();
        for (int b = from; b < from + count; b += step) {
            switch (type) {
                case F32 -> out.putFloat(src[b]);
                case F16 -> out.putShort(Float.floatToFloat16(src[b]));
                case Q8_0 -> encodeQ8_0(src, b, out);
                case Q4_0 -> encodeQ4_0(src, b, out);
                case Q4_1 -> encodeQ4_1(src, b, out);
            }
        }
    }

    /** Reads {@code count} values of {@code type} from {@code src} (advancing it) into {@code dst} from {@code from}. */
    public static void decode(GgmlType type, ByteBuffer src, float[] dst, int from, int count) {
        ByteBuffer in = src.order(ByteOrder.LITTLE_ENDIAN);
        type.bytes(count); // throws unless count is a whole number of blocks
        int step = type.blockSize();
        for (int b = from; b < from + count; b += step) {
            switch (type) {
                case F32 -> dst[b] = in.getFloat();
                case F16 -> dst[b] = Float.float16ToFloat(in.getShort());
                case Q8_0 -> {
                    float d = Float.float16ToFloat(in.getShort());
                    for (int j = 0; j < 32; j++) dst[b + j] = in.get() * d;
                }
                case Q4_0 -> {
                    float d = Float.float16ToFloat(in.getShort());
                    decodeNibbles(in, dst, b, d, 8, 0);
                }
                case Q4_1 -> {
                    float d = Float.float16ToFloat(in.getShort());
                    float m = Float.float16ToFloat(in.getShort());
                    decodeNibbles(in, dst, b, d, 0, m);
                }
            }
        }
    }

    private static void encodeQ8_0(float[] x, int b, ByteBuffer out) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]));
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        out.putShort(Float.floatToFloat16(d));
        for (int j = 0; j < 32; j++) out.put((byte) roundHalfAwayFromZero(x[b + j] * id));
    }

    private static void encodeQ4_0(float[] x, int b, ByteBuffer out) {
        // The value of largest magnitude, with its sign, maps to code 0 exactly; the other side gets 8
        // steps minus rounding, which is why ggml divides by -8 rather than using amax / 7.
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[b + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        out.putShort(Float.floatToFloat16(d));
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) (x[b + j] * id + 8.5f));
            int hi = Math.min(15, (int) (x[b + 16 + j] * id + 8.5f));
            out.put((byte) (lo | hi << 4));
        }
    }

    private static void encodeQ4_1(float[] x, int b, ByteBuffer out) {
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            // Plain comparisons as in ggml (Math.min would prefer -0.0 over 0.0 and change the stored m).
            float v = x[b + j];
            if (v < min) min = v;
            if (v > max) max = v;
        }
        float d = (max - min) / 15;
        float id = d != 0 ? 1.0f / d : 0.0f;
        out.putShort(Float.floatToFloat16(d));
        out.putShort(Float.floatToFloat16(min));
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) ((x[b + j] - min) * id + 0.5f));
            int hi = Math.min(15, (int) ((x[b + 16 + j] - min) * id + 0.5f));
            out.put((byte) (lo | hi << 4));
        }
    }

    /** Value = (q - zero) d + m, the same float operations as ggml's dequantize_row_q4_*. */
    private static void decodeNibbles(ByteBuffer in, float[] dst, int b, float d, int zero, float m) {
        for (int j = 0; j < 16; j++) {
            int q = in.get() & 0xff;
            dst[b + j] = ((q & 0x0f) - zero) * d + m;
            dst[b + 16 + j] = ((q >>> 4) - zero) * d + m;
        }
    }

    /** C's {@code roundf}: halves go away from zero (Java's Math.round sends -2.5 to -2). */
    private static int roundHalfAwayFromZero(float v) {
        int r = Math.round(Math.abs(v));
        return v < 0 ? -r : r;
    }
}
