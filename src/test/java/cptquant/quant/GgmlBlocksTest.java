package cptquant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class GgmlBlocksTest {

    private static byte[] encode(GgmlType type, float[] x) {
        ByteBuffer buf = ByteBuffer.allocate((int) type.bytes(x.length));
        GgmlBlocks.encode(type, x, 0, x.length, buf);
        assertEquals(buf.capacity(), buf.position(), "encoder must fill exactly bytes(count)");
        return buf.array();
    }

    private static float[] decode(GgmlType type, byte[] bytes, int count) {
        float[] x = new float[count];
        GgmlBlocks.decode(type, ByteBuffer.wrap(bytes), x, 0, count);
        return x;
    }

    private static int u8(byte b) { return b & 0xff; }

    @Test
    void q8_0BlockLayoutIsFp16ScaleThenSignedBytesRoundedHalfAwayFromZero() {
        float[] x = new float[32];
        x[0] = 127; x[1] = -127; x[2] = 63.5f; x[3] = -63.5f; x[4] = 0.49f; x[31] = -1;
        byte[] b = encode(GgmlType.Q8_0, x);
        assertEquals(34, b.length);
        assertEquals(0x00, u8(b[0]));
        assertEquals(0x3C, u8(b[1]), "d = amax / 127 = 1.0 = fp16 0x3C00, little-endian");
        assertEquals(127, b[2]);
        assertEquals(-127, b[3]);
        assertEquals(64, b[4]);
        assertEquals(-64, b[5], "C roundf: -63.5 -> -64, not Java's -63");
        assertEquals(0, b[6]);
        assertEquals(-1, b[33]);
        assertArrayEquals(new float[] {127, -127, 64, -64, 0}, Arrays.copyOf(decode(GgmlType.Q8_0, b, 32), 5));
    }

    @Test
    void q4_0ScaleIsSignedMaxOverMinus8AndCodesPairJWithJPlus16() {
        float[] x = new float[32];
        Arrays.fill(x, 0);
        x[0] = -8; x[1] = 7; x[2] = 7.9f; x[4] = -3.4f; x[16] = 1; x[17] = -8;
        byte[] b = encode(GgmlType.Q4_0, x);
        assertEquals(18, b.length);
        assertEquals(0x00, u8(b[0]));
        assertEquals(0x3C, u8(b[1]), "d = -8 / -8 = 1.0");
        assertEquals(0x90, u8(b[2]), "q[0] = 0 low, q[16] = 9 high");
        assertEquals(0x0F, u8(b[3]), "q[1] = 15 low, q[17] = 0 high");
        assertEquals(0x8F, u8(b[4]), "7.9 + 8.5 truncates to 16, clipped to 15");
        assertEquals(0x88, u8(b[5]), "zeros get code 8");
        assertEquals(0x85, u8(b[6]), "-3.4 + 8.5 = 5.1 truncates to 5");
        for (int i = 7; i < 18; i++) assertEquals(0x88, u8(b[i]));

        float[] back = decode(GgmlType.Q4_0, b, 32);
        assertEquals(-8, back[0]);
        assertEquals(7, back[2], "the clipped top code is 7 d");
        assertEquals(-3, back[4]);
        assertEquals(1, back[16]);
    }

    @Test
    void q4_0WithPositiveExtremeGetsNegativeScale() {
        float[] x = new float[32];
        x[5] = 8;
        byte[] b = encode(GgmlType.Q4_0, x);
        assertEquals(0xBC, u8(b[1]), "d = 8 / -8 = -1.0 = fp16 0xBC00");
        assertEquals(0x80, u8(b[2 + 5]), "8 * -1 + 8.5 truncates to code 0; q[21] = 0 gets 8");
        assertEquals(8, decode(GgmlType.Q4_0, b, 32)[5]);
    }

    @Test
    void q4_1StoresScaleThenMinimumAndRoundsCodesUp() {
        float[] x = new float[32];
        Arrays.fill(x, 2);
        x[0] = -1; x[1] = 14; x[2] = 3.4f; x[18] = 3.6f;
        byte[] b = encode(GgmlType.Q4_1, x);
        assertEquals(20, b.length);
        assertEquals(0x3C, u8(b[1]), "d = (14 - -1) / 15 = 1.0");
        assertEquals(0xBC, u8(b[3]), "m = -1.0");
        assertEquals(0x30, u8(b[4]), "q[0] = 0, q[16] = 3");
        assertEquals(0x3F, u8(b[5]), "q[1] = 15, q[17] = 3");
        assertEquals(0x54, u8(b[6]), "q[2] = (int)(4.4 + 0.5) = 4, q[18] = (int)(4.6 + 0.5) = 5");
        float[] back = decode(GgmlType.Q4_1, b, 32);
        assertEquals(-1, back[0]);
        assertEquals(14, back[1]);
        assertEquals(3, back[2]);
        assertEquals(4, back[18]);
    }

    @Test
    void floatTypesAreLittleEndianIeee() {
        assertArrayEquals(new byte[] {0x00, 0x3C, 0x00, (byte) 0xC0}, encode(GgmlType.F16, new float[] {1, -2}));
        assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3F}, encode(GgmlType.F32, new float[] {1}));
        assertArrayEquals(new float[] {0.1f, -3e5f}, decode(GgmlType.F32, encode(GgmlType.F32, new float[] {0.1f, -3e5f}), 2));
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_1"})
    void roundTripErrorIsAtMostHalfAStepPerBlock(GgmlType type) {
        int n = 32 * 64;
        float[] x = QuantizerTest.weights(1, n, type.ordinal());
        for (int j = 0; j < 32; j++) x[j] = 0; // an all-zero block has scale 0 and must decode to zeros
        byte[] b = encode(type, x);
        float[] back = decode(type, b, n);
        ByteBuffer blocks = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        for (int blk = 0; blk < n / 32; blk++) {
            float d = Math.abs(Float.float16ToFloat(blocks.getShort(blk * type.blockBytes())));
            float m = type == GgmlType.Q4_1 ? Math.abs(Float.float16ToFloat(blocks.getShort(blk * type.blockBytes() + 2))) : 0;
            int steps = type == GgmlType.Q8_0 ? 127 : 15;
            // Codes come from the float32 scale; the stored fp16 scale and minimum are off by half an fp16
            // ulp (2^-11 relative), an error each code multiplies.
            double fp16 = (steps * d + m) * Math.scalb(1.0, -11);
            for (int j = blk * 32; j < blk * 32 + 32; j++) {
                double err = Math.abs(x[j] - back[j]);
                // Q4_0 gives the side opposite its extreme 8 steps but only 7 codes, so the very top clips.
                boolean clipped = type == GgmlType.Q4_0 && (back[j] - x[j]) * Math.signum(x[j]) < 0 && err > d / 2 + fp16;
                double bound = (clipped ? d : d / 2) + fp16 + 1e-7;
                assertTrue(err <= bound, type + " block " + blk + " value " + j + ": |" + x[j] + " - " + back[j]
                        + "| = " + err + " > " + bound);
            }
        }
        for (int j = 0; j < 32; j++) assertEquals(0, back[j]);
    }

    @Test
    void blockTypesNeedRowsOfWholeBlocks() {
        assertTrue(GgmlType.Q4_0.fitsRow(64));
        assertFalse(GgmlType.Q8_0.fitsRow(33));
        assertFalse(GgmlType.Q4_1.fitsRow(260), "stories260K's 260-wide rows cannot use 32-blocks");
        assertTrue(GgmlType.F16.fitsRow(33));
        assertEquals(34 * 3, GgmlType.Q8_0.bytes(96));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.Q8_0.bytes(33));
        assertThrows(IllegalArgumentException.class,
                () -> GgmlBlocks.encode(GgmlType.Q4_0, new float[48], 0, 48, ByteBuffer.allocate(64)));
        assertEquals(GgmlType.Q8_0, GgmlType.byId(8).orElseThrow());
        assertTrue(GgmlType.byId(12).isEmpty(), "Q4_K is not one of ours");
    }
}
