package cptquant.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.quant.GgmlType;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufExportTest {
    @TempDir Path dir;

    @Test
    void plannedBitsPickTheGgmlTypeAndOddRowsFallBackToF16() {
        assertEquals(GgmlType.Q4_1, GgufExport.typeFor(new int[] {172, 64}, 4));
        assertEquals(GgmlType.Q8_0, GgufExport.typeFor(new int[] {172, 64}, 8));
        assertEquals(GgmlType.F16, GgufExport.typeFor(new int[] {64, 172}, 4), "stories260K's w2 rows are 172 long");
        assertEquals(GgmlType.F16, GgufExport.typeFor(new int[] {64, 172}, 8));
        assertEquals(GgmlType.F16, GgufExport.typeFor(new int[] {64, 172}, 16));
        assertEquals(GgmlType.F32, GgufExport.typeFor(new int[] {64, 172}, 32));
        assertEquals(GgmlType.F32, GgufExport.typeFor(new int[] {64}, 4), "norms stay F32 whatever the plan says");
        assertThrows(IllegalArgumentException.class, () -> GgufExport.typeFor(new int[] {64, 64}, 3));
        assertThrows(IllegalArgumentException.class, () -> new GgufExport.Tensor("x", new float[5], new int[] {2, 3}, 8));
    }

    @Test
    void exportReversesShapesToGgmlOrderAndStoresEachTensorInItsType() {
        float[] q = GgufWriterTest.gaussian(3 * 64, 1);
        float[] down = GgufWriterTest.gaussian(64 * 40, 2);
        float[] norm = GgufWriterTest.gaussian(64, 3);
        List<GgufExport.Tensor> tensors = List.of(
                new GgufExport.Tensor("blk.0.attn_q.weight", q, new int[] {3, 64}, 4),
                new GgufExport.Tensor("blk.0.ffn_down.weight", down, new int[] {64, 40}, 8),
                new GgufExport.Tensor("blk.0.attn_norm.weight", norm, new int[] {64}, 16));
        Path file = dir.resolve("m.gguf");
        Map<String, GgmlType> types = GgufExport.write(file, Map.of("general.architecture", GgufValue.string("llama")), tensors);
        assertEquals(List.of(GgmlType.Q4_1, GgmlType.F16, GgmlType.F32), List.copyOf(types.values()));

        GgufFile g = GgufReader.read(file);
        assertEquals(GgufValue.uint32(2), g.metadata().get("general.quantization_version"));
        GgufTensorInfo qi = g.tensor("blk.0.attn_q.weight").orElseThrow();
        assertArrayEquals(new long[] {64, 3}, qi.ne(), "ne[0] is the input width");
        assertArrayEquals(GgufWriterTest.stored(GgmlType.Q4_1, q), g.values(qi));
        GgufTensorInfo di = g.tensor("blk.0.ffn_down.weight").orElseThrow();
        assertArrayEquals(new long[] {40, 64}, di.ne());
        assertEquals(GgmlType.F16.id(), di.ggmlType());
        assertArrayEquals(GgufWriterTest.stored(GgmlType.F16, down), g.values(di));
        assertArrayEquals(norm, g.values(g.tensor("blk.0.attn_norm.weight").orElseThrow()));
        float[] back = g.values(qi);
        for (int i = 0; i < q.length; i++) assertTrue(Math.abs(back[i] - q[i]) < 0.6, "4-bit error stays within a step");
    }
}
