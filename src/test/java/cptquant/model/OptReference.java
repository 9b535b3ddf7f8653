package cptquant.model;

import java.util.ArrayList;
import java.util.List;

/**
 * OPTForCausalLM written out in double precision, loop by loop from the Hugging Face definition, sharing
 * no code with {@link OptModel}: the oracle for its logits and block outputs.
 */
final class OptReference {
    /** Logits (tokens x vocab) and each block's output hidden states (tokens x hidden). */
    record Result(double[][] logits, List<double[][]> blockOutputs) {}

    private final OptCheckpoints.Spec s;
    private final OptCheckpoints.Weights w;

    OptReference(OptCheckpoints.Spec s, OptCheckpoints.Weights w) {
        this.s = s;
        this.w = w;
    }

    Result run(int[] tokens) {
        int n = tokens.length, h = s.hidden();
        float[] emb = w.get("decoder.embed_tokens.weight"), pos = w.get("decoder.embed_positions.weight");
        double[][] x = new double[n][];
        for (int t = 0; t < n; t++) {
            double[] e = new double[s.proj()];
            for (int j = 0; j < s.proj(); j++) e[j] = emb[tokens[t] * s.proj() + j];
            x[t] = s.proj() != h ? matvec("decoder.project_in.weight", null, e, h) : e;
            for (int j = 0; j < h; j++) x[t][j] += pos[(t + 2) * h + j];
        }
        List<double[][]> outs = new ArrayList<>();
        for (int i = 0; i < s.layers(); i++) {
            x = layer("decoder.layers." + i + ".", x);
            outs.add(x);
        }
        double[][] logits = new double[n][s.vocab()];
        for (int t = 0; t < n; t++) {
            double[] y = x[t];
            if (s.pre()) y = layerNorm("decoder.final_layer_norm", y);
            if (s.proj() != h) y = matvec("decoder.project_out.weight", null, y, s.proj());
            for (int v = 0; v < s.vocab(); v++) {
                double acc = 0;
                for (int j = 0; j < s.proj(); j++) acc += y[j] * emb[v * s.proj() + j];
                logits[t][v] = acc;
            }
        }
        return new Result(logits, outs);
    }

    private double[][] layer(String p, double[][] x) {
        int n = x.length, h = s.hidden(), heads = s.heads(), hd = h / heads;
        double[][] a = new double[n][];
        for (int t = 0; t < n; t++) a[t] = s.pre() ? layerNorm(p + "self_attn_layer_norm", x[t]) : x[t];
        double scaling = 1 / Math.sqrt(hd);
        double[][] q = new double[n][], k = new double[n][], v = new double[n][];
        for (int t = 0; t < n; t++) {
            q[t] = linear(p + "self_attn.q_proj", a[t], h);
            for (int j = 0; j < h; j++) q[t][j] *= scaling;
            k[t] = linear(p + "self_attn.k_proj", a[t], h);
            v[t] = linear(p + "self_attn.v_proj", a[t], h);
        }
        double[][] out = new double[n][];
        for (int i = 0; i < n; i++) {
            double[] ctx = new double[h];
            for (int hh = 0; hh < heads; hh++) {
                double[] score = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    for (int d = 0; d < hd; d++) score[j] += q[i][hh * hd + d] * k[j][hh * hd + d];
                    max = Math.max(max, score[j]);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) sum += score[j] = Math.exp(score[j] - max);
                for (int j = 0; j <= i; j++) {
                    for (int d = 0; d < hd; d++) ctx[hh * hd + d] += score[j] / sum * v[j][hh * hd + d];
                }
            }
            double[] attn = linear(p + "self_attn.out_proj", ctx, h);
            double[] r = new double[h];
            for (int j = 0; j < h; j++) r[j] = x[i][j] + attn[j];
            if (!s.pre()) r = layerNorm(p + "self_attn_layer_norm", r);
            double[] f = s.pre() ? layerNorm(p + "final_layer_norm", r) : r;
            double[] up = linear(p + "fc1", f, s.ffn());
            for (int j = 0; j < up.length; j++) up[j] = activation(up[j]);
            double[] down = linear(p + "fc2", up, h);
            double[] y = new double[h];
            for (int j = 0; j < h; j++) y[j] = r[j] + down[j];
            out[i] = s.pre() ? y : layerNorm(p + "final_layer_norm", y);
        }
        return out;
    }

    private double activation(double z) {
        return switch (s.activation()) {
            case "relu" -> Math.max(0, z);
            case "silu" -> z / (1 + Math.exp(-z));
            default -> throw new IllegalArgumentException(s.activation());
        };
    }

    private double[] linear(String name, double[] x, int out) {
        return matvec(name + ".weight", s.bias() ? name + ".bias" : null, x, out);
    }

    private double[] matvec(String weight, String bias, double[] x, int out) {
        float[] wm = w.get(weight), b = bias == null ? null : w.get(bias);
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double acc = b == null ? 0 : b[o];
            for (int j = 0; j < x.length; j++) acc += wm[o * x.length + j] * x[j];
            y[o] = acc;
        }
        return y;
    }

    private double[] layerNorm(String name, double[] x) {
        double mean = 0, var = 0;
        for (double v : x) mean += v;
        mean /= x.length;
        for (double v : x) var += (v - mean) * (v - mean);
        var /= x.length;
        double inv = 1 / Math.sqrt(var + 1e-5);
        double[] y = new double[x.length];
        for (int j = 0; j < x.length; j++) {
            y[j] = (x[j] - mean) * inv;
            if (s.affine()) y[j] = y[j] * w.get(name + ".weight")[j] + w.get(name + ".bias")[j];
        }
        return y;
    }
}
