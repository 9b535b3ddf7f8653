package cptquant.allocate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import cptquant.quant.QuantSpec;
import cptquant.sensitivity.Method;
import cptquant.sensitivity.Profile;
import cptquant.sensitivity.Unit;
import cptquant.tensor.DType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PaperAllocatorTest {

    static Profile profile(double... sensitivity) {
        List<String> names = java.util.stream.IntStream.range(0, sensitivity.length).mapToObj(i -> "layers." + i).toList();
        return new Profile(Method.CMPQ, Unit.Granularity.BLOCK, names, sensitivity, Map.of(), 0, 0, 0);
    }

    static List<Integer> bits(BitPlan plan) {
        return plan.units().values().stream().map(QuantSpec::bits).toList();
    }

    @Test
    void threeClustersMapToFourEightAndSixteenBits() {
        BitPlan plan = PaperAllocator.allocate(profile(0.50, 0.02, 0.21, 0.03, 0.48, 0.20, 0.01), 128);
        assertEquals(List.of(16, 4, 8, 4, 16, 8, 4), bits(plan));
        assertEquals(List.of("layers.0", "layers.1", "layers.2", "layers.3", "layers.4", "layers.5", "layers.6"),
                List.copyOf(plan.units().keySet()));
        assertEquals(new QuantSpec.Half(DType.F16), plan.units().get("layers.0"));
        assertEquals(new QuantSpec.Int(4, 128, false), plan.units().get("layers.1"));
        assertEquals(new QuantSpec.Int(8, 128, false), plan.units().get("layers.2"));
        assertEquals("cmpq-kmeans3", plan.method());
        assertEquals("CMPQ", plan.metadata().get("sensitivity"));
    }

    @Test
    void twoDistinctLevelsMapToFourAndSixteenBits() {
        assertEquals(List.of(16, 4, 4, 16), bits(PaperAllocator.allocate(profile(0.9, 0.1, 0.1, 0.9), 0)));
    }

    @Test
    void equalSensitivitiesAllGetEightBits() {
        BitPlan plan = PaperAllocator.allocate(profile(0.3, 0.3, 0.3), 64);
        assertEquals(List.of(8, 8, 8), bits(plan));
        assertEquals(new QuantSpec.Int(8, 64, false), plan.units().get("layers.2"));
    }
}
