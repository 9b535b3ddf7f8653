package cptquant.sensitivity;

import cptquant.model.Block;
import cptquant.model.TransformerModel;
import cptquant.tensor.Linear;
import java.util.ArrayList;
import java.util.List;

/** What gets one sensitivity number and one bit width: a whole block (the paper's unit) or one linear. */
public record Unit(String name, int block, List<Linear> linears) {

    /** How finely a model is cut into units. */
    public enum Granularity { BLOCK, MODULE }

    /** Number of weights in the unit's linears. */
    public long weightCount() {
        long n = 0;
        for (Linear l : linears) n += (long) l.out() * l.in();
        return n;
    }

    /** The model's units, in block order. */
    public static List<Unit> of(TransformerModel model, Granularity g) {
        List<Unit> units = new ArrayList<>();
        for (Block b : model.blocks()) {
            if (g == Granularity.BLOCK) {
                units.add(new Unit(b.name(), b.index(), b.linears()));
            } else {
                for (Linear l : b.linears()) units.add(new Unit(l.name(), b.index(), List.of(l)));
            }
        }
        return units;
    }
}
