package cptquant.model;

import cptquant.tensor.Linear;
import java.util.List;

/**
 * One transformer block, the paper's unit of sensitivity: its index, a display name such as
 * "layers.3", and its linear modules (the weights that quantization targets).
 */
public record Block(int index, String name, List<Linear> linears) {
    public Block {
        linears = List.copyOf(linears);
    }
}
