package cptquant.io;

import cptquant.io.GgufModels.Naming;
import cptquant.io.GgufModels.Rule;
import cptquant.model.BertModel;
import cptquant.tensor.Linear;
import cptquant.tokenize.HfTokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GGUF naming and metadata of a BERT encoder as llama.cpp's "bert" architecture (an embedding model with
 * mean pooling, as sentence-transformers uses MiniLM). The sequence-classification head, if any, is
 * cptquant's own and has no llama.cpp tensor, so it is left out.
 */
final class GgufBert {
    /** llama.cpp's llama_token_type values. */
    private static final int NORMAL = 1, CONTROL = 3, USER_DEFINED = 4;
    /** llama.cpp's LLAMA_POOLING_TYPE_MEAN. */
    private static final int POOLING_MEAN = 1;
    private static final String LAYER = "encoder\\.layer\\.(\\d+)\\.";

    static final Naming NAMING = new Naming(List.of(
            Rule.table("embeddings\\.word_embeddings\\.weight", "token_embd.weight"),
            Rule.table("embeddings\\.position_embeddings\\.weight", "position_embd.weight"),
            Rule.f32Table("embeddings\\.token_type_embeddings\\.weight", "token_types.weight"), // added as a row view
            Rule.of("embeddings\\.LayerNorm\\.(weight|bias)", "token_embd_norm.$1"),
            Rule.of("layers\\.(\\d+)\\.attention\\.query", "blk.$1.attn_q.weight"),
            Rule.of("layers\\.(\\d+)\\.attention\\.key", "blk.$1.attn_k.weight"),
            Rule.of("layers\\.(\\d+)\\.attention\\.value", "blk.$1.attn_v.weight"),
            Rule.of("layers\\.(\\d+)\\.attention\\.output", "blk.$1.attn_output.weight"),
            Rule.of("layers\\.(\\d+)\\.intermediate", "blk.$1.ffn_up.weight"),
            Rule.of("layers\\.(\\d+)\\.output", "blk.$1.ffn_down.weight"),
            Rule.of(LAYER + "attention\\.output\\.LayerNorm\\.(weight|bias)", "blk.$1.attn_output_norm.$2"),
            Rule.of(LAYER + "output\\.LayerNorm\\.(weight|bias)", "blk.$1.layer_output_norm.$2")),
            List.of("pooler.", "classifier."));

    private GgufBert() {}

    /** bert.* hyperparameters and the WordPiece tokenizer ("bert") in llama.cpp's spelling. */
    static Map<String, GgufValue> metadata(BertModel model, HfTokenizer tokenizer) {
        Linear intermediate = model.blocks().getFirst().linears().stream()
                .filter(l -> l.name().endsWith(".intermediate")).findFirst().orElseThrow();
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("bert.context_length", GgufValue.uint32(model.maxPositions()));
        m.put("bert.embedding_length", GgufValue.uint32(model.hiddenSize()));
        m.put("bert.feed_forward_length", GgufValue.uint32(intermediate.out()));
        m.put("bert.block_count", GgufValue.uint32(model.blocks().size()));
        m.put("bert.attention.head_count", GgufValue.uint32(model.numHeads()));
        m.put("bert.attention.layer_norm_epsilon", GgufValue.float32(model.eps()));
        m.put("bert.attention.causal", GgufValue.bool(false));
        m.put("bert.pooling_type", GgufValue.uint32(POOLING_MEAN));
        float[] typeTable = model.otherParameters().get("embeddings.token_type_embeddings.weight");
        if (typeTable != null) {
            m.put("tokenizer.ggml.token_type_count", GgufValue.uint32(typeTable.length / model.hiddenSize()));
        }

        List<String> vocab = tokenizer.tokens();
        List<String> tokens = new ArrayList<>(vocab.size());
        int[] types = new int[vocab.size()];
        for (int id = 0; id < vocab.size(); id++) {
            String t = vocab.get(id);
            tokens.add(t.isEmpty() ? "[PAD" + id + "]" : phantomSpace(t));
            types[id] = t.isEmpty() ? USER_DEFINED : tokenizer.isSpecial(id) ? CONTROL : NORMAL;
        }
        m.put("tokenizer.ggml.model", GgufValue.string("bert"));
        m.put("tokenizer.ggml.tokens", GgufValue.strings(tokens));
        m.put("tokenizer.ggml.token_type", GgufValue.int32s(types));
        int cls = special(tokenizer, "[CLS]"), sep = special(tokenizer, "[SEP]");
        m.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(cls));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(sep));
        m.put("tokenizer.ggml.seperator_token_id", GgufValue.uint32(sep)); // sic: llama.cpp's key
        m.put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(special(tokenizer, "[UNK]")));
        tokenizer.id("[PAD]").ifPresent(id -> m.put("tokenizer.ggml.padding_token_id", GgufValue.uint32(id)));
        tokenizer.id("[MASK]").ifPresent(id -> m.put("tokenizer.ggml.mask_token_id", GgufValue.uint32(id)));
        return m;
    }

    /**
     * llama.cpp's WordPiece marks word starts rather than continuations: "##ing" becomes "ing", a word
     * start gets "▁"; bracketed specials such as [CLS] stay as they are (as convert_hf_to_gguf.py does).
     */
    private static String phantomSpace(String token) {
        if (token.startsWith("[") && token.endsWith("]")) return token;
        if (token.startsWith("##")) return token.substring(2);
        return "\u2581" + token;
    }

    private static int special(HfTokenizer tokenizer, String token) {
        return tokenizer.id(token).orElseThrow(() -> new IllegalArgumentException(
                "the tokenizer has no " + token + " token, which llama.cpp's bert needs"));
    }
}
