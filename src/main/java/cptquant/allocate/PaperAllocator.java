package cptquant.allocate;

import cptquant.quant.QuantSpec;
import cptquant.sensitivity.Profile;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The CPTQuant paper's allocation rule: cluster the sensitivities into three groups with 1-D k-means
 * (the exact optimum, so the plan is deterministic) and store the most sensitive group as FP16, the
 * middle one as 8-bit and the least sensitive as 4-bit. When the sensitivities only form two distinct
 * groups they become 16 and 4 bits; when all are equal, everything is 8-bit.
 */
public final class PaperAllocator {
    /** The number of precision levels the paper uses. */
    public static final int CLUSTERS = 3;

    private PaperAllocator() {}

    /** The plan for {@code profile}; integer levels use {@code groupSize} inputs per scale (0: per channel). */
    public static BitPlan allocate(Profile profile, int groupSize) {
        KMeans1D.Result clusters = KMeans1D.optimal(profile.sensitivity(), CLUSTERS);
        Map<String, QuantSpec> units = new LinkedHashMap<>();
        for (int u = 0; u < profile.units().size(); u++) {
            units.put(profile.units().get(u), QuantSpec.of(bits(clusters.labels()[u], clusters.clusters()), groupSize));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("sensitivity", profile.method().name());
        metadata.put("granularity", profile.granularity().name());
        metadata.put("cluster_centers", Arrays.stream(clusters.centers()).mapToObj(Double::toString)
                .collect(Collectors.joining(", ")));
        return new BitPlan(units, profile.method().name().toLowerCase(Locale.ROOT) + "-kmeans" + CLUSTERS, metadata);
    }

    /** Bits for cluster {@code label} (0 = least sensitive) out of {@code clusters} formed. */
    static int bits(int label, int clusters) {
        return switch (clusters) {
            case 1 -> 8;
            case 2 -> label == 0 ? 4 : 16;
            case 3 -> new int[] {4, 8, 16}[label];
            default -> throw new IllegalArgumentException("the paper's rule has no levels for " + clusters + " clusters");
        };
    }
}
