package cptquant.task;

import cptquant.eval.Perplexity;
import cptquant.eval.WikiText;
import cptquant.io.DataPaths;
import cptquant.io.ModelFormatException;
import cptquant.model.BlockObserver;
import cptquant.model.CausalLM;
import cptquant.progress.Progress;
import cptquant.sensitivity.Objective;
import cptquant.tokenize.Tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * WikiText-2 perplexity. Evaluation follows GPTQ/AWQ on the raw test split (see {@link Perplexity}).
 * Only the test split exists in raw form here, so calibration uses different text: the validation split
 * of the tokenized release (wikitext-2/wiki.valid.tokens), cut into non-overlapping windows of which a
 * seeded sample is taken. Calibration and evaluation therefore never share a sentence.
 */
public final class LanguageModelingTask implements Task {
    static final String CALIBRATION = "data/wikitext-2/wiki.valid.tokens";

    private final CausalLM model;
    private final int[] evalTokens;
    private final int seqlen;
    private final int limit;
    /** Windows evaluate() scores: the first {@code limit} of the test corpus. */
    private final int evalWindows;
    private final List<int[]> calib;
    private final String calibNote;

    public LanguageModelingTask(CausalLM model, Tokenizer tokenizer, TaskSettings s) {
        this.model = model;
        this.seqlen = s.seqlen() == 0 ? model.maxPositions() : s.seqlen();
        if (seqlen > model.maxPositions()) {
            throw new IllegalArgumentException("--seqlen " + seqlen + " exceeds the model's " + model.maxPositions() + " positions");
        }
        this.limit = s.evalLimit() == 0 ? Integer.MAX_VALUE : s.evalLimit();
        this.evalTokens = Perplexity.corpus(tokenizer, WikiText.testText());
        this.evalWindows = Math.min(limit, evalTokens.length / seqlen);
        int calibLen = Math.min(s.calibSeqlen(), model.maxPositions());
        List<int[]> windows = new ArrayList<>(Perplexity.windows(Perplexity.corpus(tokenizer, read(CALIBRATION)), calibLen));
        Collections.shuffle(windows, new Random(s.seed()));
        this.calib = List.copyOf(windows.subList(0, Math.min(s.calibSamples(), windows.size())));
        this.calibNote = calib.size() + " windows x " + calibLen + " tokens sampled (seed " + s.seed() + ") from "
                + CALIBRATION + (calib.size() < s.calibSamples() ? " (all it has)" : "");
    }

    private static String read(String relative) {
        Path p = DataPaths.resolve(relative);
        if (!Files.exists(p)) throw new ModelFormatException(p, "not found (set CPTQUANT_SHARED to the data folder)");
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(p + ": " + e.getMessage(), e);
        }
    }

    @Override public String name() { return "wikitext2"; }

    @Override public String metricName() { return "perplexity"; }

    @Override public String damageName() { return "ppl_change"; }

    @Override
    public String describeData() {
        return "evaluation: WikiText-2 raw test, " + evalWindows + " non-overlapping windows of " + seqlen
                + " tokens; calibration: " + calibNote;
    }

    @Override
    public Objective calibration() {
        return new Objective() {
            @Override
            public Result evaluate(BlockObserver observer) {
                double[] losses = new double[calib.size()];
                for (int i = 0; i < losses.length; i++) {
                    int[] w = calib.get(i);
                    losses[i] = Perplexity.windowNll(model.logits(w, observer), w, model.vocabSize()) / (w.length - 1);
                }
                return Result.negMeanLoss(losses);
            }

            @Override public String metricName() { return "neg_nll"; }
        };
    }

    @Override
    public double evaluate() {
        try (Progress bar = Progress.bar("wikitext2 ppl", evalWindows)) {
            return Perplexity.evaluate(model, evalTokens, seqlen, limit, bar).ppl();
        }
    }

    @Override
    public double damage(double base, double value) { return value - base; }
}
