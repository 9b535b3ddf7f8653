package cptquant.report;

/**
 * The paper's Table 1 view of a sensitivity profile: mean and standard deviation over the first 30 % of
 * layers, the middle 30 %, and the remaining layers.
 */
public record SegmentStats(Segment first, Segment middle, Segment rest) {

    /** Statistics of one contiguous run of layers [from, to). */
    public record Segment(int from, int to, double mean, double std) {}

    /** Splits {@code values} (in layer order) at round(0.3 n) and round(0.6 n); population standard deviation. */
    public static SegmentStats of(double[] values) {
        int n = values.length;
        if (n < 3) throw new IllegalArgumentException("need at least 3 layers for segment statistics, got " + n);
        int a = Math.max(1, (int) Math.round(0.3 * n));
        int b = Math.min(n - 1, Math.max(a + 1, (int) Math.round(0.6 * n)));
        return new SegmentStats(segment(values, 0, a), segment(values, a, b), segment(values, b, n));
    }

    private static Segment segment(double[] v, int from, int to) {
        double mean = 0;
        for (int i = from; i < to; i++) mean += v[i];
        mean /= to - from;
        double var = 0;
        for (int i = from; i < to; i++) var += (v[i] - mean) * (v[i] - mean);
        return new Segment(from, to, mean, Math.sqrt(var / (to - from)));
    }
}
