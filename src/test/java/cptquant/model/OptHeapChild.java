package cptquant.model;

import java.nio.file.Path;

/**
 * Run in a child JVM with a small heap by {@link OptModelTest}: loads an OPT checkpoint larger than that
 * heap, runs a forward pass over the token ids given after the directory and prints the logits summary.
 */
public final class OptHeapChild {
    private OptHeapChild() {}

    public static void main(String[] args) {
        OptModel m = OptModel.load(Path.of(args[0]));
        int[] tokens = new int[args.length - 1];
        for (int i = 0; i < tokens.length; i++) tokens[i] = Integer.parseInt(args[i + 1]);
        System.out.println(OptModelTest.summary(m.logits(tokens)));
    }
}
