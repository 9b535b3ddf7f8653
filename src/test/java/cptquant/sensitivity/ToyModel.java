package cptquant.sensitivity;

import cptquant.model.Block;
import cptquant.model.BlockObserver;
import cptquant.model.TransformerModel;
import cptquant.tensor.DenseWeight;
import cptquant.tensor.Linear;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A residual stack h <- h + scale_i * tanh(W_i h) whose blocks matter in proportion to scale_i, so the
 * right sensitivity ranking is known by construction; plus a regression objective against targets that
 * the unchanged model produces (with a little noise, so the baseline loss is not zero).
 */
public final class ToyModel implements TransformerModel {
    final int dim;
    final double[] scales;
    final List<Block> blocks = new ArrayList<>();

    public ToyModel(int dim, double[] scales, long seed) {
        this.dim = dim;
        this.scales = scales;
        Random r = new Random(seed);
        for (int b = 0; b < scales.length; b++) {
            float[] w = new float[dim * dim];
            for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() / Math.sqrt(dim));
            blocks.add(new Block(b, "layers." + b, List.of(new Linear("layers." + b + ".fc", DenseWeight.ofFloats(w, dim, dim), null))));
        }
    }

    @Override public String architecture() { return "toy"; }

    @Override public List<Block> blocks() { return blocks; }

    @Override public int hiddenSize() { return dim; }

    @Override public Map<String, float[]> otherParameters() { return Map.of(); }

    float[] forward(float[] x, int rows, BlockObserver obs) {
        float[] h = x.clone();
        for (Block b : blocks) {
            float[] in = h.clone();
            float[] y = b.linears().get(0).forward(h, rows);
            for (int i = 0; i < h.length; i++) h[i] += (float) (scales[b.index()] * Math.tanh(y[i]));
            obs.onBlock(b.index(), in, h, rows, dim, null);
        }
        return h;
    }

    /** Regression objective on {@code n} seeded random inputs. */
    public Objective objective(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * dim];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] target = forward(x, n, BlockObserver.NONE);
        for (int i = 0; i < target.length; i++) target[i] += (float) (0.01 * r.nextGaussian());
        return new Objective() {
            @Override
            public Result evaluate(BlockObserver observer) {
                float[] y = forward(x, n, observer);
                double[] losses = new double[n];
                double total = 0;
                for (int s = 0; s < n; s++) {
                    for (int j = 0; j < dim; j++) {
                        double d = y[s * dim + j] - target[s * dim + j];
                        losses[s] += d * d;
                    }
                    total += losses[s];
                }
                return new Result(losses, -total / n);
            }

            @Override public String metricName() { return "neg_mse"; }
        };
    }
}
