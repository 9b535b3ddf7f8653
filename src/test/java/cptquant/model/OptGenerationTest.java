package cptquant.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An OPT directory as published (vocab.json + merges.txt, no tokenizer.json) resolved and decoded end to end. */
class OptGenerationTest {
    @TempDir Path dir;

    @Test
    void publishedLayoutLoadsAndGreedySessionDecodingMatchesFullSequenceArgmax() throws IOException {
        OptCheckpoints.Spec spec = OptCheckpoints.Spec.small();
        OptCheckpoints.write(dir, spec, OptCheckpoints.generate(spec, 9));
        Files.writeString(dir.resolve("vocab.json"), "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3, \"a\": 4, \"b\": 5, \"ab\": 6}");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\na b\n");

        LoadedModel.Causal loaded = (LoadedModel.Causal) Models.load(dir.toString());
        int[] prompt = loaded.tokenizer().encode("abab", 16);
        assertArrayEquals(new int[] {2, 6, 6}, prompt);

        // Never stop, so the run length is fixed; each generated token must be the argmax of full logits.
        Generator.Result r = new Generator(loaded.model(), t -> false).generate(prompt, 12, Sampler.greedy(), t -> {});
        int[] tokens = r.tokens();
        assertEquals(13, tokens.length);
        float[] full = loaded.model().logits(Arrays.copyOf(tokens, 12));
        int v = spec.vocab();
        for (int t = prompt.length - 1; t < 12; t++) {
            assertEquals(Sampler.greedy().pick(Arrays.copyOfRange(full, t * v, (t + 1) * v)), tokens[t + 1], "position " + t);
        }
    }
}
