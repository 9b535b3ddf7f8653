package cptquant.io;

import cptquant.tensor.Weight;

/**
 * Named tensors a model family loader reads its parameters from: an original Hugging Face checkpoint or a
 * saved quantized checkpoint. Only block linears and the LM head (or the token embedding it is tied to) may
 * come back packed; everything else is a dense tensor.
 */
public interface WeightSource {

    /** The model's config.json. */
    HfConfig config();

    /** The named dense tensor; a {@link ModelFormatException} naming the file when it is absent. */
    Safetensors.Tensor tensor(String name);

    /**
     * The weight of linear module {@code module} (its name without ".weight"), checked to be out x in.
     * A plain checkpoint holds it as the float tensor {@code module.weight}.
     */
    default Weight linearWeight(String module, int out, int in) {
        return tensor(module + ".weight").requireFloat().requireShape(out, in).asWeight();
    }
}
