package cptquant.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import cptquant.progress.Progress;
import cptquant.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PerplexityTest {

    private static int[] range(int n, int mod) {
        return IntStream.range(0, n).map(i -> i % mod).toArray();
    }

    @Test
    void uniformLogitsGiveVocabularySize() {
        int vocab = 37;
        var model = new FakeCausalLM(vocab, 64, tok -> new float[vocab]);
        var r = Perplexity.evaluate(model, range(1000, vocab), 64, Integer.MAX_VALUE, Progress.NONE);
        assertEquals(vocab, r.ppl(), 1e-9);
        assertEquals(Math.log(vocab), r.meanNll(), 1e-12);
        assertEquals(15, r.windows());
        assertEquals(15 * 63, r.tokens());
    }

    @Test
    void confidentModelMatchesClosedForm() {
        // Row for token k puts logit c on k+1: every prediction of the stream 0,1,2,... has p = e^c/(e^c+V-1).
        int vocab = 11;
        float c = 3.5f;
        var model = new FakeCausalLM(vocab, 16, tok -> {
            float[] row = new float[vocab];
            row[(tok + 1) % vocab] = c;
            return row;
        });
        var r = Perplexity.evaluate(model, range(100, vocab), 16, Integer.MAX_VALUE, Progress.NONE);
        double expected = (Math.exp(c) + vocab - 1) / Math.exp(c);
        assertEquals(expected, r.ppl(), 1e-12);
    }

    @Test
    void onlyWithinWindowPositionsArePredicted() {
        // Logits depend on the token: token 0 predicts 1 with certainty-ish, others are uniform. In the stream
        // 0,1 | 0,1 (seqlen 2) each window predicts 1 from 0; the pair across a boundary (1 -> 0) is not scored.
        int vocab = 4;
        var model = new FakeCausalLM(vocab, 8, tok -> tok == 0 ? new float[] {0, 5, 0, 0} : new float[vocab]);
        var r = Perplexity.evaluate(model, new int[] {0, 1, 0, 1, 0}, 2, Integer.MAX_VALUE, Progress.NONE);
        assertEquals(2, r.windows());
        assertEquals(2, r.tokens());
        assertEquals(Math.log(Math.exp(5) + 3) - 5, r.meanNll(), 1e-12);
    }

    @Test
    void windowsAreDisjointAndDropTheTail() {
        int[] tokens = range(10, 100);
        List<int[]> w = Perplexity.windows(tokens, 4);
        assertEquals(2, w.size());
        assertArrayEquals(new int[] {0, 1, 2, 3}, w.get(0));
        assertArrayEquals(new int[] {4, 5, 6, 7}, w.get(1));
        assertEquals(0, Perplexity.windows(tokens, 11).size());
    }

    @Test
    void limitAndProgress() {
        var model = new FakeCausalLM(5, 8, tok -> new float[5]);
        List<Long> done = new ArrayList<>();
        var r = Perplexity.evaluate(model, range(100, 5), 8, 3, (d, tps) -> done.add(d));
        assertEquals(3, r.windows());
        assertEquals(List.of(1L, 2L, 3L), done);
        assertEquals(3, model.seen.size());
        assertArrayEquals(new int[] {1, 2, 3, 4, 0, 1, 2, 3}, model.seen.get(2));
    }

    @Test
    void rejectsImpossibleSettings() {
        var model = new FakeCausalLM(5, 8, tok -> new float[5]);
        assertThrows(IllegalArgumentException.class, () -> Perplexity.evaluate(model, range(100, 5), 9, 1, Progress.NONE));
        assertThrows(IllegalArgumentException.class, () -> Perplexity.evaluate(model, range(5, 5), 8, 1, Progress.NONE));
        assertThrows(IllegalArgumentException.class, () -> Perplexity.evaluate(model, range(50, 5), 8, 0, Progress.NONE));
    }

    @Test
    void corpusStartsWithTheTokenizersLeadingSpecials() {
        assertArrayEquals(new int[] {99, 1, 2, 3}, Perplexity.corpus(new WordTokenizer(99), "a b c"));
        assertArrayEquals(new int[] {1, 2, 3}, Perplexity.corpus(new WordTokenizer(-1), "a b c"));
    }

    /** Tokens are word lengths; encode optionally adds a leading special token. */
    private record WordTokenizer(int bos) implements Tokenizer {
        @Override
        public int[] encodePlain(String text) {
            String[] words = text.strip().split("\\s+");
            int[] ids = new int[words.length];
            for (int i = 0; i < ids.length; i++) ids[i] = i + 1;
            return ids;
        }

        @Override
        public int[] encode(String text, int maxTokens) {
            int[] plain = encodePlain(text);
            if (bos < 0) return plain;
            int[] out = new int[plain.length + 1];
            out[0] = bos;
            System.arraycopy(plain, 0, out, 1, plain.length);
            return out;
        }

        @Override public String decode(int[] ids) { return ""; }
        @Override public int vocabSize() { return 100; }
    }
}
