package cptquant.io;

import cptquant.io.GgufModels.Naming;
import cptquant.io.GgufModels.Rule;
import cptquant.io.Llama2cCheckpoint.Config;
import cptquant.model.LlamaModel;
import cptquant.tokenize.Llama2cTokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * GGUF naming and metadata of a llama2.c model as llama.cpp's "llama" architecture. llama2.c keeps Meta's
 * q/k layout, which llama.cpp's rotary embedding expects, so unlike Hugging Face checkpoints no head
 * permutation is needed (checked by greedy decoding stories260K in llama.cpp).
 */
final class GgufLlama {
    /** llama2.c's RMSNorm epsilon. */
    private static final float RMS_EPS = 1e-5f;
    /** llama.cpp's llama_token_type values. */
    private static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6;
    /** llama2.c's unknown token id. */
    private static final int UNKNOWN_ID = 0;
    private static final Pattern BYTE_PIECE = Pattern.compile("<0x[0-9A-F]{2}>");

    static final Naming NAMING = new Naming(List.of(
            Rule.table("tok_embeddings", "token_embd.weight"),
            Rule.of("layers\\.(\\d+)\\.attention_norm", "blk.$1.attn_norm.weight"),
            Rule.of("layers\\.(\\d+)\\.attention\\.wq", "blk.$1.attn_q.weight"),
            Rule.of("layers\\.(\\d+)\\.attention\\.wk", "blk.$1.attn_k.weight"),
            Rule.of("layers\\.(\\d+)\\.attention\\.wv", "blk.$1.attn_v.weight"),
            Rule.of("layers\\.(\\d+)\\.attention\\.wo", "blk.$1.attn_output.weight"),
            Rule.of("layers\\.(\\d+)\\.ffn_norm", "blk.$1.ffn_norm.weight"),
            Rule.of("layers\\.(\\d+)\\.feed_forward\\.w1", "blk.$1.ffn_gate.weight"),
            Rule.of("layers\\.(\\d+)\\.feed_forward\\.w2", "blk.$1.ffn_down.weight"),
            Rule.of("layers\\.(\\d+)\\.feed_forward\\.w3", "blk.$1.ffn_up.weight"),
            Rule.of("norm", "output_norm.weight"),
            Rule.table("output", "output.weight")), // only when untied: llama.cpp reuses token_embd otherwise
            List.of());

    private GgufLlama() {}

    /** llama.* hyperparameters and the sentencepiece-style tokenizer ("llama") with byte fallback. */
    static Map<String, GgufValue> metadata(LlamaModel model, Llama2cTokenizer tokenizer) {
        Config c = model.config();
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("llama.context_length", GgufValue.uint32(c.seqLen()));
        m.put("llama.embedding_length", GgufValue.uint32(c.dim()));
        m.put("llama.block_count", GgufValue.uint32(c.nLayers()));
        m.put("llama.feed_forward_length", GgufValue.uint32(c.hiddenDim()));
        m.put("llama.rope.dimension_count", GgufValue.uint32(c.headDim()));
        m.put("llama.attention.head_count", GgufValue.uint32(c.nHeads()));
        m.put("llama.attention.head_count_kv", GgufValue.uint32(c.nKvHeads()));
        m.put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32(RMS_EPS));

        int n = tokenizer.vocabSize();
        List<String> tokens = new ArrayList<>(n);
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int id = 0; id < n; id++) {
            String piece = tokenizer.piece(id);
            tokens.add(piece.replace(' ', '\u2581')); // sentencepiece's visible space
            scores[id] = tokenizer.score(id);
            types[id] = id == UNKNOWN_ID ? UNKNOWN
                    : id == Llama2cTokenizer.BOS || id == Llama2cTokenizer.EOS || piece.isEmpty() ? CONTROL
                    : BYTE_PIECE.matcher(piece).matches() ? BYTE : NORMAL;
        }
        m.put("tokenizer.ggml.model", GgufValue.string("llama"));
        m.put("tokenizer.ggml.tokens", GgufValue.strings(tokens));
        m.put("tokenizer.ggml.scores", GgufValue.float32s(scores));
        m.put("tokenizer.ggml.token_type", GgufValue.int32s(types));
        m.put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(UNKNOWN_ID));
        m.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(Llama2cTokenizer.BOS));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(Llama2cTokenizer.EOS));
        return m;
    }
}
