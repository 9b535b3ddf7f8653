package cptquant.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfCheckpointTest {
    @TempDir Path dir;

    private static void assertFormatError(Path file, String expected, Runnable r) {
        ModelFormatException e = assertThrows(ModelFormatException.class, r::run);
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private Path config(String json) throws IOException {
        Path f = dir.resolve(HfCheckpoint.CONFIG);
        Files.writeString(f, json);
        return f;
    }

    @Test
    void configGettersDefaultsAndErrors() throws IOException {
        Path f = config("{\"hidden_size\": 16, \"eps\": 1e-5, \"pre\": false, \"model_type\": \"opt\","
                + " \"pad_token_id\": null, \"ratio\": 2.5, \"name\": 3, \"huge\": 99999999999}");
        HfConfig c = HfConfig.read(f);
        assertEquals(16, c.getInt("hidden_size"));
        assertEquals(16, c.getInt("hidden_size", 4));
        assertEquals(7, c.getInt("absent", 7));
        assertEquals(7, c.getInt("pad_token_id", 7), "null counts as absent");
        assertFalse(c.has("pad_token_id"));
        assertEquals(1e-5, c.getDouble("eps"));
        assertEquals(16.0, c.getDouble("hidden_size"));
        assertEquals(0.5, c.getDouble("absent", 0.5));
        assertFalse(c.getBoolean("pre", true));
        assertTrue(c.getBoolean("absent", true));
        assertEquals("opt", c.getString("model_type"));
        assertEquals("x", c.getString("absent", "x"));
        assertFormatError(f, "missing required field \"num_hidden_layers\"", () -> c.getInt("num_hidden_layers"));
        assertFormatError(f, "field \"ratio\" must be an integer, got 2.5", () -> c.getInt("ratio"));
        assertFormatError(f, "field \"huge\" must be an integer", () -> c.getInt("huge"));
        assertFormatError(f, "field \"name\" must be a string, got 3", () -> c.getString("name"));
        assertFormatError(f, "field \"model_type\" must be true or false", () -> c.getBoolean("model_type"));
        assertFormatError(f, "field \"model_type\" must be a number", () -> c.getDouble("model_type"));
    }

    @Test
    void unreadableConfigs() throws IOException {
        Path absent = dir.resolve("nope.json");
        assertFormatError(absent, "config file not found", () -> HfConfig.read(absent));
        Path bad = config("{\"hidden_size\": ");
        assertFormatError(bad, "not valid JSON", () -> HfConfig.read(bad));
        Path array = config("[1]");
        assertFormatError(array, "not a JSON object", () -> HfConfig.read(array));
    }

    @Test
    void singleFileLooksUpNamesWithOrWithoutModelPrefix() throws IOException {
        config("{\"model_type\": \"opt\"}");
        new SafetensorsWriter()
                .addFloats("decoder.a.weight", DType.F32, new long[] {2}, new float[] {1, 2})
                .addFloats("model.decoder.b.weight", DType.F32, new long[] {1}, new float[] {3})
                .addFloats("lm_head.weight", DType.F32, new long[] {1}, new float[] {4})
                .write(dir.resolve(HfCheckpoint.SINGLE));
        HfCheckpoint ck = HfCheckpoint.open(dir);
        assertEquals("opt", ck.config().getString("model_type"));
        assertArrayEquals(new float[] {1, 2}, ck.tensor("model.decoder.a.weight").toFloats());
        assertArrayEquals(new float[] {1, 2}, ck.tensor("decoder.a.weight").toFloats());
        assertArrayEquals(new float[] {3}, ck.tensor("decoder.b.weight").toFloats());
        assertArrayEquals(new float[] {4}, ck.tensor("lm_head.weight").toFloats());
        assertTrue(ck.has("model.decoder.b.weight"));
        assertFalse(ck.has("decoder.c.weight"));
        assertFormatError(dir.resolve(HfCheckpoint.SINGLE), "missing tensor model.decoder.c.weight",
                () -> ck.tensor("model.decoder.c.weight"));
    }

    @Test
    void shardedCheckpointFollowsTheIndex() throws IOException {
        config("{}");
        new SafetensorsWriter().addFloats("model.x", DType.F32, new long[] {1}, new float[] {5})
                .write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafetensorsWriter().addFloats("model.y", DType.BF16, new long[] {1}, new float[] {6})
                .write(dir.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(dir.resolve(HfCheckpoint.INDEX), "{\"metadata\": {\"total_size\": 6}, \"weight_map\": {"
                + "\"model.x\": \"model-00001-of-00002.safetensors\", \"model.y\": \"model-00002-of-00002.safetensors\"}}");
        HfCheckpoint ck = HfCheckpoint.open(dir);
        assertEquals(Set.of("model.x", "model.y"), ck.names());
        assertArrayEquals(new float[] {5}, ck.tensor("x").toFloats());
        assertArrayEquals(new float[] {6}, ck.tensor("model.y").toFloats());
        assertFormatError(dir.resolve(HfCheckpoint.INDEX), "missing tensor z", () -> ck.tensor("z"));
    }

    @Test
    void badShardIndexes() throws IOException {
        config("{}");
        Path index = dir.resolve(HfCheckpoint.INDEX);
        new SafetensorsWriter().addFloats("model.x", DType.F32, new long[] {1}, new float[] {5})
                .write(dir.resolve("s1.safetensors"));

        Files.writeString(index, "{\"weight_map\": {\"model.x\": \"s2.safetensors\"}}");
        assertFormatError(index, "shard s2.safetensors listed for model.x does not exist", () -> HfCheckpoint.open(dir));

        Files.writeString(index, "{\"weight_map\": {\"model.z\": \"s1.safetensors\"}}");
        assertFormatError(dir.resolve("s1.safetensors"), "missing tensor model.z", () -> HfCheckpoint.open(dir));

        Files.writeString(index, "{\"metadata\": {}}");
        assertFormatError(index, "weight_map", () -> HfCheckpoint.open(dir));

        Files.writeString(index, "{\"weight_map\": {\"model.x\": \"../s1.safetensors\"}}");
        assertFormatError(index, "same directory", () -> HfCheckpoint.open(dir));

        Files.writeString(index, "{\"weight_map\": ");
        assertFormatError(index, "not valid JSON", () -> HfCheckpoint.open(dir));
    }

    @Test
    void pickleOnlyAndEmptyDirectoriesExplainWhatIsMissing() throws IOException {
        assertFormatError(dir, "no model.safetensors or model.safetensors.index.json", () -> HfCheckpoint.open(dir));
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {0x50, 0x4b});
        assertFormatError(dir, "only PyTorch pickle weights (pytorch_model.bin); convert them to safetensors",
                () -> HfCheckpoint.open(dir));
        Path notDir = dir.resolve("pytorch_model.bin");
        assertFormatError(notDir, "not a checkpoint directory", () -> HfCheckpoint.open(notDir));

        new SafetensorsWriter().addFloats("a", DType.F32, new long[] {1}, new float[] {1})
                .write(dir.resolve(HfCheckpoint.SINGLE));
        assertFormatError(dir.resolve(HfCheckpoint.CONFIG), "config file not found", () -> HfCheckpoint.open(dir));
    }
}
