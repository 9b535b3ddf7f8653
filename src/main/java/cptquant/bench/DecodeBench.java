package cptquant.bench;

import cptquant.io.SafetensorsWriter;
import cptquant.model.Block;
import cptquant.model.CausalLM;
import cptquant.model.DecodingSession;
import cptquant.quant.ModelQuantizer;
import cptquant.quant.QuantSpec;
import cptquant.tensor.DType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Decode and prefill speed of a decoder with its block linears stored as FP32, FP16, uniform W8, uniform
 * W4 (group 128, per channel where 128 does not divide a row) and one mixed plan (first third FP16, middle third W8, last third W4), next to the
 * bandwidth bound: weight bytes read per decoded token divided by the machine's measured bandwidth. The LM
 * head (tied embedding) stays FP32 in every configuration and is counted in the bytes per token.
 */
public final class DecodeBench {
    private DecodeBench() {}

    /** One configuration's figures. */
    public record Figure(String format, double weightMB, double decodeTokensPerS, double prefillTokensPerS,
                         double boundTokensPerS) {}

    /** Runs every configuration on {@code model} (restored afterwards). */
    public static List<Figure> measure(CausalLM model, double bandwidthGBs, int decodeTokens, int prefillTokens, int reps) {
        List<Figure> out = new ArrayList<>();
        for (var e : configs(model).entrySet()) {
            ModelQuantizer.Undo undo = ModelQuantizer.apply(model, e.getValue());
            try {
                double bytes = weightBytesPerToken(model);
                double decodeMs = Timing.medianMillis(1, reps, () -> greedy(model, 2, decodeTokens));
                int[] prompt = new SplittableRandom(1).ints(prefillTokens, 3, model.vocabSize()).toArray();
                double prefillMs = Timing.medianMillis(1, reps, () -> model.logits(prompt));
                out.add(new Figure(e.getKey(), bytes / 1e6, decodeTokens / (decodeMs / 1e3),
                        prefillTokens / (prefillMs / 1e3), bandwidthGBs * 1e9 / bytes));
            } finally {
                undo.restore();
            }
        }
        return out;
    }

    private static Map<String, Map<String, QuantSpec>> configs(CausalLM model) {
        Map<String, Map<String, QuantSpec>> c = new LinkedHashMap<>();
        c.put("fp32", Map.of());
        c.put("fp16", uniform(model, QuantSpec.of(16, 0)));
        c.put("w8", uniform(model, QuantSpec.of(8, 0)));
        c.put("w4-g128", uniform(model, QuantSpec.of(4, 128)));
        Map<String, QuantSpec> mixed = new LinkedHashMap<>();
        int n = model.blocks().size();
        for (Block b : model.blocks()) {
            int third = 3 * b.index() / n;
            for (var l : b.linears()) {
                mixed.put(l.name(), third == 0 ? QuantSpec.of(16, 0) : third == 1 ? QuantSpec.of(8, 0) : int4(l.in()));
            }
        }
        c.put("mixed 16/8/4", mixed);
        return c;
    }

    /** Every block linear at {@code spec}; 4-bit groups of 128 fall back to per channel where 128 does not divide. */
    private static Map<String, QuantSpec> uniform(CausalLM model, QuantSpec spec) {
        Map<String, QuantSpec> m = new LinkedHashMap<>();
        for (Block b : model.blocks()) {
            for (var l : b.linears()) m.put(l.name(), spec.bits() == 4 ? int4(l.in()) : spec);
        }
        return m;
    }

    private static QuantSpec int4(int in) { return QuantSpec.of(4, in % 128 == 0 ? 128 : 0); }

    /** Block linears as stored plus the FP32 LM head (vocab x hidden). */
    static double weightBytesPerToken(CausalLM model) {
        double bytes = 4.0 * model.vocabSize() * model.hiddenSize();
        for (Block b : model.blocks()) for (var l : b.linears()) bytes += l.weight().storageBytes();
        return bytes;
    }

    /** Greedy decoding of {@code tokens} tokens after {@code first} in a fresh session (results unused). */
    public static void greedy(CausalLM model, int first, int tokens) {
        DecodingSession s = model.startSession();
        int tok = first;
        for (int i = 0; i < tokens; i++) {
            float[] logits = s.next(tok);
            int best = 0;
            for (int j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
            tok = best;
        }
    }

    /**
     * Writes a checkpoint with facebook/opt-125m's shapes (12 layers, hidden 768, FFN 3072, vocabulary
     * 50272, 2048 positions) and seeded random FP32 weights into {@code dir}: speed does not depend on the
     * values, and no real OPT weights are reachable here.
     */
    public static void writeOpt125mShaped(Path dir) {
        int h = 768, f = 3072, layers = 12, vocab = 50272, positions = 2048;
        SplittableRandom rng = new SplittableRandom(125);
        SafetensorsWriter w = new SafetensorsWriter();
        w.addFloats("model.decoder.embed_tokens.weight", DType.F32, new long[] {vocab, h}, random(rng, vocab * h, 0.02f));
        w.addFloats("model.decoder.embed_positions.weight", DType.F32, new long[] {positions + 2, h}, random(rng, (positions + 2) * h, 0.02f));
        ones(w, "model.decoder.final_layer_norm", h);
        for (int i = 0; i < layers; i++) {
            String p = "model.decoder.layers." + i + ".";
            for (String m : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj")) {
                linear(w, rng, p + m, h, h);
            }
            linear(w, rng, p + "fc1", f, h);
            linear(w, rng, p + "fc2", h, f);
            ones(w, p + "self_attn_layer_norm", h);
            ones(w, p + "final_layer_norm", h);
        }
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), """
                    {"model_type": "opt", "hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 12,
                     "ffn_dim": 3072, "vocab_size": 50272, "max_position_embeddings": 2048, "word_embed_proj_dim": 768,
                     "do_layer_norm_before": true, "activation_function": "relu"}""");
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": " + e.getMessage(), e);
        }
        w.write(dir.resolve("model.safetensors"));
    }

    private static void linear(SafetensorsWriter w, SplittableRandom rng, String name, int out, int in) {
        w.addFloats(name + ".weight", DType.F32, new long[] {out, in}, random(rng, out * in, (float) (1 / Math.sqrt(in))));
        w.addFloats(name + ".bias", DType.F32, new long[] {out}, new float[out]);
    }

    private static void ones(SafetensorsWriter w, String name, int n) {
        float[] g = new float[n];
        java.util.Arrays.fill(g, 1f);
        w.addFloats(name + ".weight", DType.F32, new long[] {n}, g);
        w.addFloats(name + ".bias", DType.F32, new long[] {n}, new float[n]);
    }

    private static float[] random(SplittableRandom rng, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        return v;
    }
}
