package cptquant.sensitivity;

import cptquant.model.BlockObserver;

/**
 * A model's task on a fixed calibration set: per-sample losses plus the task metric, in one pass.
 * Sensitivity methods compare evaluations of the same objective before and after changing one unit.
 */
public interface Objective {

    /** Per-sample losses (NLL per token of each window, or cross-entropy of each review) and the metric. */
    record Result(double[] losses, double metric) {
        /** Losses whose metric is their negated mean (language modelling: higher is better). */
        public static Result negMeanLoss(double[] losses) {
            double s = 0;
            for (double l : losses) s += l;
            return new Result(losses, -s / losses.length);
        }

        public double meanLoss() {
            double s = 0;
            for (double l : losses) s += l;
            return s / losses.length;
        }
    }

    /** Runs the calibration set through the model as it is now; the observer sees every block. */
    Result evaluate(BlockObserver observer);

    default Result evaluate() { return evaluate(BlockObserver.NONE); }

    /** Name of the metric ("accuracy" or "neg_nll"); higher is better for both. */
    String metricName();
}
