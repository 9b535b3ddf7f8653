package cptquant.model;

import cptquant.io.OnnxBert;
import cptquant.io.OnnxModel;
import cptquant.io.SafetensorsWriter;
import cptquant.tensor.DType;
import cptquant.tokenize.HfTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A Hugging Face BERT directory (config.json + model.safetensors with "bert."-prefixed names, as
 * BertModel checkpoints are published, + tokenizer.json) loads through Models.load and computes exactly
 * what the same weights do (to float rounding) when read from the ONNX export.
 */
class HfBertDirectoryTest {
    @Test
    void miniLmWrittenAsAHuggingFaceDirectoryLoadsToTheSameEncoder(@TempDir Path dir) throws Exception {
        OnnxBert.Checkpoint ck = OnnxBert.extract(OnnxModel.parse(BertModel.minilmOnnxBytes(), Path.of("minilm.onnx")));
        SafetensorsWriter w = new SafetensorsWriter();
        ck.tensors().forEach((name, values) -> w.addFloats("bert." + name, DType.F32,
                Arrays.stream(ck.shapes().get(name)).asLongStream().toArray(), values));
        w.write(dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "bert", "hidden_size": 384, "num_attention_heads": 12, "num_hidden_layers": 6,
                 "intermediate_size": 1536, "layer_norm_eps": 1e-12, "vocab_size": 30522, "max_position_embeddings": 512}""");
        Files.write(dir.resolve("tokenizer.json"), HfTokenizer.minilm().json());

        LoadedModel.Encoding hf = (LoadedModel.Encoding) Models.load(dir.toString());
        LoadedModel.Encoding onnx = (LoadedModel.Encoding) Models.load("minilm");
        int[][] ids = {hf.tokenizer().encode("A tiny test of loading.", 32), onnx.tokenizer().encode("Another one, longer than that.", 32)};
        assertArrayEquals(onnx.tokenizer().encode("A tiny test of loading.", 32), ids[0]);
        // same weights, same kernels; compiled and interpreted vector code may round the last bit differently
        assertArrayEquals(onnx.model().encode(ids).meanPool(), hf.model().encode(ids).meanPool(), 1e-5f);
        assertEquals(6, hf.model().blocks().size());
    }
}
