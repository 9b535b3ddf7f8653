package cptquant.model;

import cptquant.io.HfCheckpoint;
import cptquant.io.HfConfig;
import cptquant.io.ModelFormatException;
import cptquant.io.QuantizedCheckpoint;
import cptquant.tokenize.HfTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Resolves a --model argument (an alias, a checkpoint directory or a model file) to a loaded model. */
public final class Models {
    private Models() {}

    /**
     * Loads {@code spec}: "minilm" (the embedded all-MiniLM-L6-v2), a Hugging Face checkpoint directory
     * (config.json + safetensors: OPT or BERT), an .onnx BERT export (tokenizer.json beside it), or a
     * llama2.c .bin checkpoint (tokenizer beside it).
     */
    public static LoadedModel load(String spec) {
        if (spec.equals("minilm")) return new LoadedModel.Encoding("minilm", BertModel.minilm(), HfTokenizer.minilm());
        Path p = Path.of(spec);
        if (!Files.exists(p)) throw new ModelFormatException(p, "no such file or directory (known aliases: minilm)");
        String file = p.getFileName().toString();
        if (Files.isDirectory(p)) return hfDirectory(p);
        if (file.endsWith(".onnx")) {
            return new LoadedModel.Encoding(spec, BertModel.loadOnnx(p), HfTokenizer.load(beside(p, "tokenizer.json")));
        }
        if (file.endsWith(".bin")) return LlamaModel.load(p);
        throw new ModelFormatException(p, "unrecognized model format (expected a checkpoint directory, .onnx or llama2.c .bin)");
    }

    private static LoadedModel hfDirectory(Path dir) {
        Path configFile = dir.resolve(HfCheckpoint.CONFIG);
        if (!Files.exists(configFile)) throw new ModelFormatException(dir, "directory has no config.json");
        if (QuantizedCheckpoint.isQuantized(dir)) return QuantizedCheckpoint.load(dir);
        String type = HfConfig.read(configFile).getString("model_type");
        return switch (type) {
            case "opt" -> new LoadedModel.Causal(dir.toString(), OptModel.load(dir), HfTokenizer.loadDirectory(dir));
            case "bert" -> new LoadedModel.Encoding(dir.toString(), bert(dir), HfTokenizer.loadDirectory(dir));
            default -> throw new ModelFormatException(configFile, "unsupported model_type \"" + type + "\" (supported: opt, bert)");
        };
    }

    /** A Hugging Face BERT checkpoint (BertModel or BertForSequenceClassification, with or without "bert."). */
    private static BertModel bert(Path dir) {
        HfCheckpoint ck = HfCheckpoint.open(dir);
        Map<String, float[]> params = new LinkedHashMap<>();
        for (String name : ck.names()) {
            String key = name.startsWith("bert.") ? name.substring(5) : name;
            params.put(key, ck.tensor(name).requireFloat().toFloats());
        }
        HfConfig c = ck.config();
        return new BertModel(params, c.getInt("num_attention_heads"), (float) c.getDouble("layer_norm_eps", 1e-12));
    }

    private static Path beside(Path file, String name) {
        Path t = file.toAbsolutePath().resolveSibling(name);
        if (!Files.exists(t)) throw new ModelFormatException(file, "no " + name + " beside it");
        return t;
    }
}
