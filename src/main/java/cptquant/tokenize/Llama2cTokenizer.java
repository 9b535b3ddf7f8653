package cptquant.tokenize;

import cptquant.io.ModelFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The sentencepiece-derived byte-fallback BPE of llama2.c (tokenizer.bin / tok512.bin: an int32 max
 * token length, then per token a float32 merge score, an int32 byte length and the bytes). Encoding is
 * llama2.c's: a dummy leading space, one token per UTF-8 character (or its bytes as {@code <0xXX>}
 * tokens), then repeated merges of the adjacent pair whose concatenation has the highest score.
 */
public final class Llama2cTokenizer implements Tokenizer {
    public static final int BOS = 1;
    public static final int EOS = 2;
    private static final int UNKNOWN = 0;
    /** Names the tokenizer may have beside a checkpoint, in the order they are tried. */
    private static final List<String> BESIDE_NAMES = List.of("tokenizer.bin", "tok512.bin");

    /** Pieces as ISO-8859-1 strings: one char per byte, so any byte string is a lossless map key. */
    private final String[] pieces;
    private final float[] scores;
    private final Map<String, Integer> ids;
    private final int[] byteTokens = new int[256];
    /** The file this was read from, so a saved checkpoint can carry it unchanged. */
    private final byte[] file;

    private Llama2cTokenizer(String[] pieces, float[] scores, byte[] file) {
        this.file = file;
        this.pieces = pieces;
        this.scores = scores;
        this.ids = new HashMap<>(pieces.length * 2);
        for (int i = 0; i < pieces.length; i++) ids.putIfAbsent(pieces[i], i);
        Arrays.fill(byteTokens, UNKNOWN);
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.format("<0x%02X>", b));
            if (id != null) byteTokens[b] = id;
        }
    }

    /** Reads a llama2.c tokenizer file; the vocabulary is every entry up to the end of the file. */
    public static Llama2cTokenizer read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read: " + e.getMessage(), e);
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        try {
            int maxLen = buf.getInt();
            if (maxLen <= 0) throw new ModelFormatException(file, "max_token_length " + maxLen + " is not positive");
            while (buf.hasRemaining()) {
                float score = buf.getFloat();
                int len = buf.getInt();
                if (len < 0 || len > maxLen) {
                    throw new ModelFormatException(file, "token " + pieces.size() + " has length " + len
                            + " outside [0, " + maxLen + "]");
                }
                byte[] b = new byte[len];
                buf.get(b);
                pieces.add(new String(b, StandardCharsets.ISO_8859_1));
                scores.add(score);
            }
        } catch (BufferUnderflowException e) {
            throw new ModelFormatException(file, "truncated after " + pieces.size() + " tokens");
        }
        if (pieces.size() <= EOS) throw new ModelFormatException(file, "only " + pieces.size() + " tokens");
        float[] s = new float[scores.size()];
        for (int i = 0; i < s.length; i++) s[i] = scores.get(i);
        return new Llama2cTokenizer(pieces.toArray(String[]::new), s, bytes);
    }

    /** The tokenizer stored beside a checkpoint: tokenizer.bin or tok512.bin in the same folder. */
    public static Llama2cTokenizer beside(Path checkpoint) {
        Path dir = checkpoint.toAbsolutePath().getParent();
        for (String name : BESIDE_NAMES) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) return read(p);
        }
        throw new ModelFormatException(checkpoint, "no llama2.c tokenizer beside it (looked for " + BESIDE_NAMES + ")");
    }

    @Override
    public int vocabSize() { return pieces.length; }

    /** The bytes of the tokenizer file this was read from (a copy). */
    public byte[] fileBytes() { return file.clone(); }

    /** Token {@code id}'s text decoded as UTF-8 (byte-fallback tokens read literally, e.g. "<0x0A>"). */
    public String piece(int id) {
        return new String(pieces[id].getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    /** Token {@code id}'s merge score (higher merges first). */
    public float score(int id) { return scores[id]; }

    /** BOS, then the text's tokens, cut to {@code maxTokens}. */
    @Override
    public int[] encode(String text, int maxTokens) {
        int[] body = encodePlain(text);
        int n = Math.min(maxTokens, body.length + 1);
        int[] out = new int[Math.max(0, n)];
        if (n > 0) out[0] = BOS;
        System.arraycopy(body, 0, out, 1, Math.max(0, n - 1));
        return out;
    }

    /** The text's tokens with llama2.c's dummy leading space and no BOS. */
    @Override
    public int[] encodePlain(String text) {
        if (text.isEmpty()) return new int[0];
        List<Integer> symbols = new ArrayList<>(text.length() + 1);
        Integer space = ids.get(" ");
        if (space != null) symbols.add(space);
        text.codePoints().forEach(cp -> {
            String utf8 = new String(Character.toString(cp).getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
            Integer id = ids.get(utf8);
            if (id != null) {
                symbols.add(id);
            } else {
                for (int i = 0; i < utf8.length(); i++) symbols.add(byteTokens[utf8.charAt(i)]);
            }
        });
        return merge(symbols.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * llama2.c merges the best-scoring adjacent pair (the leftmost among equals) until none is in the
     * vocabulary. Its rescan of all pairs per merge is quadratic, too slow for corpora; a heap of
     * candidate pairs over a linked list of symbols picks the same pair each step in n log n.
     */
    private int[] merge(int[] tok) {
        int n = tok.length;
        int[] next = new int[n], prev = new int[n];
        for (int i = 0; i < n; i++) { next[i] = i + 1; prev[i] = i - 1; }
        PriorityQueue<Pair> heap = new PriorityQueue<>((a, b) -> a.score != b.score
                ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        for (int i = 0; i + 1 < n; i++) offer(heap, i, i + 1, tok);
        while (!heap.isEmpty()) {
            Pair p = heap.poll();
            // Stale when either side has since been merged away or changed.
            if (tok[p.left] != p.leftTok || next[p.left] != p.right || tok[p.right] != p.rightTok) continue;
            tok[p.left] = p.id;
            tok[p.right] = -1;
            next[p.left] = next[p.right];
            if (next[p.left] < n) prev[next[p.left]] = p.left;
            if (prev[p.left] >= 0) offer(heap, prev[p.left], p.left, tok);
            if (next[p.left] < n) offer(heap, p.left, next[p.left], tok);
        }
        return Arrays.stream(tok).filter(t -> t >= 0).toArray();
    }

    /** A merge candidate: the symbol at index left (token leftTok) with its neighbour, into id. */
    private record Pair(int left, int right, int leftTok, int rightTok, int id, float score) {}

    private void offer(PriorityQueue<Pair> heap, int left, int right, int[] tok) {
        Integer id = ids.get(pieces[tok[left]] + pieces[tok[right]]);
        if (id != null) heap.add(new Pair(left, right, tok[left], tok[right], id, scores[id]));
    }

    /**
     * The text of {@code ids}: BOS and EOS are dropped, a piece right after BOS loses its leading space
     * (the dummy prefix), and {@code <0xXX>} pieces are raw bytes, so characters split over byte tokens
     * are reassembled. Without a leading BOS the dummy space stays, as in llama2.c.
     */
    @Override
    public String decode(int[] tokenIds) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = -1;
        for (int id : tokenIds) {
            if (id < 0 || id >= pieces.length) throw new IllegalArgumentException("token id " + id + " outside vocabulary");
            if (id != BOS && id != EOS) {
                String piece = pieces[id];
                if (prev == BOS && piece.startsWith(" ")) piece = piece.substring(1);
                int b = byteValue(piece);
                if (b >= 0) out.write(b);
                else out.writeBytes(piece.getBytes(StandardCharsets.ISO_8859_1));
            }
            prev = id;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The byte a {@code <0xXX>} piece stands for, or -1 for an ordinary piece. */
    private static int byteValue(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') return -1;
        int hi = Character.digit(piece.charAt(3), 16), lo = Character.digit(piece.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }
}
