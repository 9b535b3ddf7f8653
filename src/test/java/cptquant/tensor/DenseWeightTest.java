package cptquant.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Rows and the full FP32 view of a 16-bit dense weight are its elements widened one by one. */
class DenseWeightTest {

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void rowsAndToFloatWidenEachStoredElement(DType dtype) {
        int out = 5, in = 37;
        Random r = new Random(3);
        short[] bits = new short[out * in];
        for (int i = 0; i < bits.length; i++) bits[i] = (short) r.nextInt(1 << 16);
        DenseWeight w = new DenseWeight(dtype, out, in, MemorySegment.ofArray(bits.clone()));

        float[] want = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            want[i] = dtype == DType.F16 ? Float.float16ToFloat(bits[i]) : Float.intBitsToFloat((bits[i] & 0xffff) << 16);
        }
        assertArrayEquals(want, w.toFloat());
        float[] row = new float[in + 2];
        for (int o = 0; o < out; o++) {
            w.row(o, row, 1);
            for (int i = 0; i < in; i++) assertEquals(want[o * in + i], row[1 + i], dtype + " row " + o + " col " + i);
        }
        assertEquals(bits.length * 2L, w.storageBytes());
    }
}
