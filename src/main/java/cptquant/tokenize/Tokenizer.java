package cptquant.tokenize;

/** Text to token ids and back. */
public interface Tokenizer {
    /**
     * Token ids for {@code text}, including the model's usual special tokens (BERT: [CLS] ... [SEP];
     * llama2.c: BOS), truncated to at most {@code maxTokens} (keeping the closing special token).
     */
    int[] encode(String text, int maxTokens);

    /** Token ids of a long text with no special tokens and no truncation (for perplexity corpora). */
    int[] encodePlain(String text);

    /** Text of a sequence of ids. */
    String decode(int[] ids);

    int vocabSize();
}
