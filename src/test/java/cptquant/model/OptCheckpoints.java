package cptquant.model;

import cptquant.io.HfCheckpoint;
import cptquant.io.SafetensorsWriter;
import cptquant.quant.Quantizer;
import cptquant.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Seeded random OPT checkpoints written as real Hugging Face directories (config.json + safetensors). */
public final class OptCheckpoints {
    private OptCheckpoints() {}

    /** Architecture and storage choices of a generated checkpoint. */
    public record Spec(int vocab, int hidden, int layers, int heads, int ffn, int maxPos, int proj, boolean pre,
                boolean bias, boolean affine, String activation, DType dtype, boolean modelPrefix, int shards) {

        public static Spec small() {
            return new Spec(37, 16, 2, 4, 24, 20, 16, true, true, true, "relu", DType.F32, true, 1);
        }

        Spec postLn() { return new Spec(vocab, hidden, layers, heads, ffn, maxPos, proj, false, bias, affine, activation, dtype, modelPrefix, shards); }

        Spec projected(int p) { return new Spec(vocab, hidden, layers, heads, ffn, maxPos, p, pre, bias, affine, activation, dtype, modelPrefix, shards); }

        Spec stored(DType d) { return new Spec(vocab, hidden, layers, heads, ffn, maxPos, proj, pre, bias, affine, activation, d, modelPrefix, shards); }

        Spec unprefixed() { return new Spec(vocab, hidden, layers, heads, ffn, maxPos, proj, pre, bias, affine, activation, dtype, false, shards); }

        Spec sharded(int n) { return new Spec(vocab, hidden, layers, heads, ffn, maxPos, proj, pre, bias, affine, activation, dtype, modelPrefix, n); }

        Spec plain(String act) { return new Spec(vocab, hidden, layers, heads, ffn, maxPos, proj, pre, false, false, act, dtype, modelPrefix, shards); }

        Spec sized(int v, int h, int l, int nh, int f, int mp) { return new Spec(v, h, l, nh, f, mp, h, pre, bias, affine, activation, dtype, modelPrefix, shards); }

        String configJson(String modelType) {
            return "{\"model_type\": \"" + modelType + "\", \"architectures\": [\"OPTForCausalLM\"],"
                    + " \"vocab_size\": " + vocab + ", \"hidden_size\": " + hidden + ", \"num_hidden_layers\": " + layers
                    + ", \"num_attention_heads\": " + heads + ", \"ffn_dim\": " + ffn
                    + ", \"max_position_embeddings\": " + maxPos + ", \"word_embed_proj_dim\": " + proj
                    + ", \"do_layer_norm_before\": " + pre + ", \"enable_bias\": " + bias
                    + ", \"layer_norm_elementwise_affine\": " + affine + ", \"activation_function\": \"" + activation
                    + "\", \"torch_dtype\": \"float32\", \"pad_token_id\": 1, \"dropout\": 0.1}";
        }
    }

    /**
     * Random weights by canonical name ("decoder.layers.0.fc1.weight", without the "model." prefix) with
     * their shapes, already rounded to the spec's storage dtype so a reference sees the stored values.
     */
    public record Weights(Map<String, float[]> values, Map<String, long[]> shapes) {
        float[] get(String name) {
            float[] v = values.get(name);
            if (v == null) throw new IllegalArgumentException("no weight " + name);
            return v;
        }
    }

    public static Weights generate(Spec s, long seed) {
        Random r = new Random(seed);
        Weights w = new Weights(new LinkedHashMap<>(), new LinkedHashMap<>());
        int h = s.hidden();
        add(w, s, r, "decoder.embed_tokens.weight", 1.0, 0, s.vocab(), s.proj());
        add(w, s, r, "decoder.embed_positions.weight", 0.5, 0, s.maxPos() + 2, h);
        if (s.proj() != h) {
            add(w, s, r, "decoder.project_in.weight", 1 / Math.sqrt(s.proj()), 0, h, s.proj());
            add(w, s, r, "decoder.project_out.weight", 1 / Math.sqrt(h), 0, s.proj(), h);
        }
        for (int i = 0; i < s.layers(); i++) {
            String n = "decoder.layers." + i + ".";
            for (String m : List.of("q_proj", "k_proj", "v_proj", "out_proj")) linear(w, s, r, n + "self_attn." + m, h, h);
            linear(w, s, r, n + "fc1", s.ffn(), h);
            linear(w, s, r, n + "fc2", h, s.ffn());
            norm(w, s, r, n + "self_attn_layer_norm");
            norm(w, s, r, n + "final_layer_norm");
        }
        if (s.pre()) norm(w, s, r, "decoder.final_layer_norm");
        return w;
    }

    private static void linear(Weights w, Spec s, Random r, String name, int out, int in) {
        add(w, s, r, name + ".weight", 1.5 / Math.sqrt(in), 0, out, in);
        if (s.bias()) add(w, s, r, name + ".bias", 0.2, 0, out);
    }

    private static void norm(Weights w, Spec s, Random r, String name) {
        if (!s.affine()) return;
        add(w, s, r, name + ".weight", 0.2, 1, s.hidden());
        add(w, s, r, name + ".bias", 0.2, 0, s.hidden());
    }

    /** Uniform values of standard deviation {@code std} around {@code mean}, rounded to the storage dtype. */
    private static void add(Weights w, Spec s, Random r, String name, double std, double mean, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        float[] v = new float[Math.toIntExact(n)];
        float amp = (float) (std * Math.sqrt(3));
        for (int i = 0; i < v.length; i++) v[i] = storedValue(s.dtype(), (float) mean + amp * (2 * r.nextFloat() - 1));
        w.values().put(name, v);
        w.shapes().put(name, shape);
    }

    private static float storedValue(DType d, float v) {
        return switch (d) {
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            case BF16 -> Float.intBitsToFloat(Quantizer.toBf16(v) << 16);
            default -> v;
        };
    }

    /** Writes config.json and the weights (single file or an index plus shards) into {@code dir}. */
    public static void write(Path dir, Spec s, Weights w) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(HfCheckpoint.CONFIG), s.configJson("opt"));
        String prefix = s.modelPrefix() ? "model." : "";
        List<SafetensorsWriter> shards = new ArrayList<>();
        for (int i = 0; i < s.shards(); i++) shards.add(new SafetensorsWriter().metadata("format", "pt"));
        StringBuilder map = new StringBuilder();
        int i = 0;
        for (var e : w.values().entrySet()) {
            int k = i++ % s.shards();
            String name = prefix + e.getKey();
            shards.get(k).addFloats(name, s.dtype(), w.shapes().get(e.getKey()), e.getValue());
            map.append(map.isEmpty() ? "" : ", ").append('"').append(name).append("\": \"").append(shardName(k, s.shards())).append('"');
        }
        if (s.shards() == 1) {
            shards.getFirst().write(dir.resolve(HfCheckpoint.SINGLE));
            return;
        }
        for (int k = 0; k < s.shards(); k++) shards.get(k).write(dir.resolve(shardName(k, s.shards())));
        Files.writeString(dir.resolve(HfCheckpoint.INDEX), "{\"metadata\": {}, \"weight_map\": {" + map + "}}");
    }

    /**
     * Writes the checkpoint with an untied LM head: {@code w} plus a random lm_head.weight of the
     * embedding's shape, and tie_word_embeddings false.
     */
    public static void writeUntied(Path dir, Spec s, Weights w, long seed) throws IOException {
        Weights withHead = new Weights(new LinkedHashMap<>(w.values()), new LinkedHashMap<>(w.shapes()));
        add(withHead, s, new Random(seed), "lm_head.weight", 1.0, 0, s.vocab(), s.proj());
        write(dir, s, withHead);
        Files.writeString(dir.resolve(HfCheckpoint.CONFIG),
                s.configJson("opt").replaceFirst("\\{", "{\"tie_word_embeddings\": false, "));
    }

    private static String shardName(int k, int n) {
        return String.format("model-%05d-of-%05d.safetensors", k + 1, n);
    }
}
