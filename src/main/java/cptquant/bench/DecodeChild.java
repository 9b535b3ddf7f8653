package cptquant.bench;

import com.fasterxml.jackson.databind.SerializationFeature;
import cptquant.io.JsonOut;
import cptquant.kernel.Parallel;
import cptquant.model.Block;
import cptquant.model.CausalLM;
import cptquant.model.LoadedModel;
import cptquant.model.Models;
import cptquant.tensor.Linear;
import java.util.SplittableRandom;

/**
 * The process {@link DecodeBench} starts per checkpoint, so each format is measured as a user would run
 * it: a fresh JVM that loads the saved model and nothing else. Arguments: {@code CHECKPOINT THREADS
 * DECODE_TOKENS PREFILL_TOKENS REPS}, or {@code --baseline} to load nothing. Prints one JSON line on
 * stdout ({@link DecodeBench.Measurement}, or {@link ResidentMemory} for the baseline); on failure, one
 * line on stderr and exit status 1.
 */
public final class DecodeChild {
    private DecodeChild() {}

    public static void main(String[] args) {
        try {
            Object result = args.length == 1 && args[0].equals("--baseline") ? ResidentMemory.now() : measure(args);
            System.out.println(JsonOut.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result));
        } catch (Exception e) {
            System.err.println("cptquant: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            System.exit(1);
        }
    }

    private static DecodeBench.Measurement measure(String[] args) {
        if (args.length != 5) {
            throw new IllegalArgumentException("usage: DecodeChild CHECKPOINT THREADS DECODE_TOKENS PREFILL_TOKENS REPS | --baseline");
        }
        Parallel.setThreads(Integer.parseInt(args[1]));
        int reps = Integer.parseInt(args[4]);
        LoadedModel loaded = Models.load(args[0]);
        if (!(loaded.model() instanceof CausalLM model)) {
            throw new IllegalArgumentException(args[0] + ": a " + loaded.model().architecture() + " model does not decode");
        }
        ResidentMemory afterLoad = ResidentMemory.now();
        int decode = Math.min(Integer.parseInt(args[2]), model.maxPositions());
        int prefill = Math.min(Integer.parseInt(args[3]), model.maxPositions());
        // C2 takes some hundred decoded tokens to compile every kernel path on two cores (the first 32-token
        // runs measured 20, 69, 88, then ~110 tokens/s), so decoding is timed only after that.
        double decodeMs = Timing.medianMillis(Math.max(3, 128 / Math.max(1, decode)), reps,
                () -> DecodeBench.greedy(model, 2, decode));
        ResidentMemory afterDecode = ResidentMemory.now();
        double bandwidth = KernelBench.memoryBandwidthGBs(); // after the memory figure: its buffer is freed, not counted
        int[] prompt = new SplittableRandom(1).ints(prefill, 3, model.vocabSize()).toArray();
        double prefillMs = Timing.medianMillis(2, reps, () -> model.logits(prompt));
        return new DecodeBench.Measurement(weightBytesPerToken(model), decode, prefill, decode / (decodeMs / 1e3),
                bandwidth, prefill / (prefillMs / 1e3), afterLoad, afterDecode);
    }

    /** Block linears and the LM head as stored: what every decoded token reads. */
    static long weightBytesPerToken(CausalLM model) {
        long bytes = model.lmHead().weight().storageBytes();
        for (Block b : model.blocks()) for (Linear l : b.linears()) bytes += l.weight().storageBytes();
        return bytes;
    }
}
