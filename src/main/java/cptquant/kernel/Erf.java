package cptquant.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The error function, to float precision and better (Abramowitz-Stegun 7.1.26 is too coarse for GELU
 * parity): Numerical Recipes' erfc Chebyshev fit, erfc(z) = t exp(-z^2 + P(t)) with t = 1 / (1 + z/2).
 */
final class Erf {
    private Erf() {}

    private static final double[] P = {-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
        0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277};

    /** erf(x) with absolute error below 1.2e-7. */
    static double erf(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double poly = P[P.length - 1];
        for (int i = P.length - 2; i >= 0; i--) poly = P[i] + t * poly;
        double r = t * Math.exp(-z * z + poly);
        return x >= 0 ? 1.0 - r : r - 1.0;
    }

    /** erf lane-wise, the same fit evaluated in float (absolute error about 1e-6). */
    static FloatVector erf(FloatVector x) {
        FloatVector z = x.abs();
        FloatVector t = x.broadcast(1f).div(z.fma(0.5f, 1f));
        FloatVector poly = x.broadcast((float) P[P.length - 1]);
        for (int i = P.length - 2; i >= 0; i--) poly = poly.fma(t, x.broadcast((float) P[i]));
        FloatVector r = t.mul(z.mul(z).neg().add(poly).lanewise(VectorOperators.EXP));
        FloatVector oneMinusR = r.neg().add(1f);
        return oneMinusR.blend(r.sub(1f), x.compare(VectorOperators.LT, 0f));
    }
}
