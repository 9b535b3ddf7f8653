package cptquant.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face checkpoint directory: config.json plus either model.safetensors or shards listed in
 * model.safetensors.index.json. Tensors are looked up by name with or without the "model." prefix,
 * because published checkpoints differ (facebook/opt-* store "decoder.…", re-saved ones "model.decoder.…").
 */
public final class HfCheckpoint implements WeightSource {
    public static final String CONFIG = "config.json";
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";
    private static final String PREFIX = "model.";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> PICKLES = List.of("pytorch_model.bin", "pytorch_model.bin.index.json");

    private final Path dir;
    private final Path weightsFile;
    private final HfConfig config;
    private final Map<String, Safetensors.Tensor> tensors;

    private HfCheckpoint(Path dir, Path weightsFile, HfConfig config, Map<String, Safetensors.Tensor> tensors) {
        this.dir = dir;
        this.weightsFile = weightsFile;
        this.config = config;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Opens (memory-maps) the checkpoint in {@code dir}. */
    public static HfCheckpoint open(Path dir) {
        if (!Files.isDirectory(dir)) throw new ModelFormatException(dir, "not a checkpoint directory");
        Path single = dir.resolve(SINGLE), index = dir.resolve(INDEX);
        Path weights;
        Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
        if (Files.isRegularFile(single)) {
            weights = single;
            Safetensors st = Safetensors.open(single);
            for (String n : st.names()) tensors.put(n, st.tensor(n));
        } else if (Files.isRegularFile(index)) {
            weights = index;
            readShards(dir, index, tensors);
        } else {
            String pickle = PICKLES.stream().filter(p -> Files.exists(dir.resolve(p))).findFirst().orElse(null);
            if (pickle != null) {
                throw new ModelFormatException(dir, "has only PyTorch pickle weights (" + pickle
                        + "); convert them to safetensors, e.g. in Python: AutoModelForCausalLM.from_pretrained(dir)"
                        + ".save_pretrained(out, safe_serialization=True)");
            }
            throw new ModelFormatException(dir, "no " + SINGLE + " or " + INDEX + " in this directory");
        }
        return new HfCheckpoint(dir, weights, HfConfig.read(dir.resolve(CONFIG)), tensors);
    }

    private static void readShards(Path dir, Path index, Map<String, Safetensors.Tensor> out) {
        JsonNode map;
        try {
            map = JSON.readTree(index.toFile()).get("weight_map");
        } catch (JacksonException e) {
            throw new ModelFormatException(index, "not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new ModelFormatException(index, "cannot read (" + e.getMessage() + ")", e);
        }
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new ModelFormatException(index, "needs a non-empty \"weight_map\" object of tensor name to shard file");
        }
        Map<String, Safetensors> shards = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode shardName = e.getValue();
            if (!shardName.isTextual() || Path.of(shardName.textValue()).getParent() != null) {
                throw new ModelFormatException(index, "weight_map entry " + e.getKey()
                        + " must name a shard file in the same directory, got " + shardName);
            }
            Path shard = dir.resolve(shardName.textValue());
            if (!Files.isRegularFile(shard)) {
                throw new ModelFormatException(index, "shard " + shardName.textValue() + " listed for "
                        + e.getKey() + " does not exist");
            }
            out.put(e.getKey(), shards.computeIfAbsent(shardName.textValue(), s -> Safetensors.open(shard))
                    .tensor(e.getKey()));
        }
    }

    public Path dir() { return dir; }

    @Override public HfConfig config() { return config; }

    /** Every stored tensor name, as stored. */
    public Set<String> names() { return tensors.keySet(); }

    /** The name under which {@code name} is stored (trying with and without "model."), or null. */
    private String resolve(String name) {
        if (tensors.containsKey(name)) return name;
        String alt = name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : PREFIX + name;
        return tensors.containsKey(alt) ? alt : null;
    }

    public boolean has(String name) { return resolve(name) != null; }

    /** The named tensor; a {@link ModelFormatException} naming the weights file when absent. */
    @Override
    public Safetensors.Tensor tensor(String name) {
        String stored = resolve(name);
        if (stored == null) {
            throw new ModelFormatException(weightsFile, "missing tensor " + name + " (with or without the \""
                    + PREFIX + "\" prefix)");
        }
        return tensors.get(stored);
    }
}
