package cptquant.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import cptquant.io.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The tokenizer.json equivalent of a GPT-2 style slow-tokenizer directory (vocab.json + merges.txt, as
 * facebook/opt-* publish): byte-level BPE without a prefix space, a ByteLevel decoder, and a post-processor
 * that prepends the BOS token as OPT's GPT2Tokenizer does with add_bos_token (BOS is tokenizer_config.json's
 * bos_token, "&lt;/s&gt;" for OPT).
 */
final class Gpt2BpeFiles {
    static final String VOCAB = "vocab.json";
    static final String MERGES = "merges.txt";
    private static final String CONFIG = "tokenizer_config.json";
    private static final String DEFAULT_BOS = "</s>";
    /** OPT's special tokens; those present in the vocabulary become added tokens, never split. */
    private static final List<String> SPECIAL = List.of("<s>", "<pad>", "</s>", "<unk>");

    private static final ObjectMapper JSON = new ObjectMapper();

    private Gpt2BpeFiles() {}

    /** Whether {@code dir} holds vocab.json and merges.txt. */
    static boolean present(Path dir) {
        return Files.isRegularFile(dir.resolve(VOCAB)) && Files.isRegularFile(dir.resolve(MERGES));
    }

    /** tokenizer.json bytes built from the directory's vocab.json, merges.txt and tokenizer_config.json. */
    static byte[] tokenizerJson(Path dir) {
        Path vocabFile = dir.resolve(VOCAB);
        JsonNode vocab = readJson(vocabFile);
        if (!vocab.isObject() || vocab.isEmpty()) throw new ModelFormatException(vocabFile, "is not a non-empty JSON object of token ids");
        String bos = bosToken(dir.resolve(CONFIG));
        if (!vocab.has(bos)) throw new ModelFormatException(vocabFile, "has no BOS token \"" + bos + "\"");

        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        for (String s : SPECIAL) {
            if (!vocab.has(s)) continue;
            added.addObject().put("id", vocab.get(s).asInt()).put("content", s).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", true).put("special", true);
        }
        root.set("pre_tokenizer", byteLevel(false));
        root.set("post_processor", prependBos(bos, vocab.get(bos).asInt()));
        root.set("decoder", byteLevel(true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.putNull("unk_token");
        model.put("fuse_unk", false).put("byte_fallback", false);
        model.set("vocab", vocab);
        ArrayNode merges = model.putArray("merges");
        merges(dir.resolve(MERGES)).forEach(merges::add);
        try {
            return JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new ModelFormatException(vocabFile, "cannot build tokenizer.json (" + e.getMessage() + ")", e);
        }
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace) {
        return JSON.createObjectNode().put("type", "ByteLevel").put("add_prefix_space", addPrefixSpace)
                .put("trim_offsets", true).put("use_regex", true);
    }

    /** TemplateProcessing "BOS $A" for single sequences and "BOS $A BOS $B" for pairs (as GPT2Tokenizer). */
    private static ObjectNode prependBos(String bos, int id) {
        ObjectNode p = JSON.createObjectNode().put("type", "TemplateProcessing");
        ArrayNode single = p.putArray("single");
        special(single, bos);
        sequence(single, "A");
        ArrayNode pair = p.putArray("pair");
        special(pair, bos);
        sequence(pair, "A");
        special(pair, bos);
        sequence(pair, "B");
        ObjectNode token = p.putObject("special_tokens").putObject(bos).put("id", bos);
        token.putArray("ids").add(id);
        token.putArray("tokens").add(bos);
        return p;
    }

    private static void special(ArrayNode template, String token) {
        template.addObject().putObject("SpecialToken").put("id", token).put("type_id", 0);
    }

    private static void sequence(ArrayNode template, String id) {
        template.addObject().putObject("Sequence").put("id", id).put("type_id", 0);
    }

    /** The merge rules, one "left right" pair per line after the optional "#version" header. */
    private static List<String> merges(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read (" + e.getMessage() + ")", e);
        }
        List<String> rules = lines.stream().filter(l -> !l.isEmpty() && !l.startsWith("#version")).toList();
        for (int i = 0; i < rules.size(); i++) {
            if (rules.get(i).split(" ", -1).length != 2) {
                throw new ModelFormatException(file, "merge rule " + (i + 1) + " \"" + rules.get(i) + "\" is not two tokens separated by one space");
            }
        }
        return rules;
    }

    /** tokenizer_config.json's bos_token (a string or an AddedToken object), "&lt;/s&gt;" when absent. */
    private static String bosToken(Path config) {
        if (!Files.isRegularFile(config)) return DEFAULT_BOS;
        JsonNode bos = readJson(config).path("bos_token");
        if (bos.isTextual()) return bos.asText();
        if (bos.path("content").isTextual()) return bos.path("content").asText();
        return DEFAULT_BOS;
    }

    private static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file, "is not readable JSON (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
        }
    }
}
