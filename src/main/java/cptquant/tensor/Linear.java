package cptquant.tensor;

/**
 * One linear module (y = x W^T + b) of a model, addressable by name so that sensitivity analysis and
 * quantization can swap its weight in place (e.g. "layers.3.self_attn.q_proj").
 */
public final class Linear {
    private final String name;
    private Weight weight;
    private final float[] bias;

    /** @param bias length outFeatures, or null for no bias */
    public Linear(String name, Weight weight, float[] bias) {
        if (bias != null && bias.length != weight.outFeatures()) {
            throw new IllegalArgumentException(name + ": bias length " + bias.length + " != out features "
                    + weight.outFeatures());
        }
        this.name = name;
        this.weight = weight;
        this.bias = bias;
    }

    public String name() { return name; }

    public Weight weight() { return weight; }

    public float[] bias() { return bias; }

    public int in() { return weight.inFeatures(); }

    public int out() { return weight.outFeatures(); }

    /** Replaces the weight (same shape), e.g. with a quantized or perturbed copy. */
    public void setWeight(Weight w) {
        if (w.outFeatures() != weight.outFeatures() || w.inFeatures() != weight.inFeatures()) {
            throw new IllegalArgumentException(name + ": new weight " + w.outFeatures() + "x" + w.inFeatures()
                    + " does not match " + weight.outFeatures() + "x" + weight.inFeatures());
        }
        this.weight = w;
    }

    /** y = x W^T + b for {@code rows} rows of x; returns a new array rows x out. */
    public float[] forward(float[] x, int rows) {
        float[] y = new float[rows * out()];
        weight.matmul(x, rows, y);
        if (bias != null) cptquant.kernel.Ops.addBiasRows(y, rows, bias);
        return y;
    }
}
