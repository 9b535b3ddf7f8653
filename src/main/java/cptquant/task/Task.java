package cptquant.task;

import cptquant.sensitivity.Objective;

/**
 * What a model is quantized for: a calibration objective that sensitivity methods probe, and the task
 * metric on evaluation data disjoint from calibration. Both run the model as it currently is, so callers
 * quantize (or perturb) the model in place between calls.
 */
public interface Task {

    /** Task name as given on the command line ("wikitext2", "imdb"). */
    String name();

    /** Name of the evaluation metric ("perplexity", "accuracy"). */
    String metricName();

    /** Name of {@link #damage}'s quantity ("ppl_change", "acc_drop_points"). */
    String damageName();

    /** The calibration objective (built once; the same samples for every call). */
    Objective calibration();

    /** The task metric of the model as it is now on the evaluation data. */
    double evaluate();

    /** How much worse {@code value} is than {@code base}: perplexity increase, or accuracy drop in points. */
    double damage(double base, double value);

    /** One-line description of the calibration and evaluation data, for reports. */
    String describeData();
}
