package cptquant.cli;

import cptquant.tokenize.Tokenizer;
import java.util.Arrays;

/**
 * Turns a growing token sequence into text pieces that can be printed as they come. Each call decodes
 * the whole sequence and hands out what lies past the text already handed out; trailing U+FFFD is held
 * back, since it usually marks a character whose UTF-8 bytes are split over tokens not all seen yet.
 */
final class TextStream {
    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private int[] tokens;
    private int length;
    private int emitted;

    /** Starts with {@code prefix} (the prompt), none of whose text has been handed out yet. */
    TextStream(Tokenizer tokenizer, int[] prefix) {
        this.tokenizer = tokenizer;
        this.tokens = Arrays.copyOf(prefix, Math.max(16, prefix.length * 2));
        this.length = prefix.length;
    }

    /** The new text after appending {@code token} (possibly empty). */
    String add(int token) {
        if (length == tokens.length) tokens = Arrays.copyOf(tokens, length * 2);
        tokens[length++] = token;
        return take(false);
    }

    /** The text not handed out yet, including any held-back replacement characters. */
    String flush() { return take(true); }

    private String take(boolean all) {
        String text = tokenizer.decode(Arrays.copyOf(tokens, length));
        int end = text.length();
        while (!all && end > emitted && text.charAt(end - 1) == REPLACEMENT) end--;
        // A decoder may rewrite earlier text (e.g. cleaning spaces); what was printed stays printed.
        if (end <= emitted) return "";
        String piece = text.substring(emitted, end);
        emitted = end;
        return piece;
    }
}
