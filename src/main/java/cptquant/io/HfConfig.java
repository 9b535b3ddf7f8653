package cptquant.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Hugging Face config.json: typed getters, with defaults for optional fields. A JSON null counts as
 * absent (HF writes e.g. {@code "pad_token_id": null}). Missing required fields and wrong types are
 * {@link ModelFormatException}s naming the file and the field.
 */
public final class HfConfig {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final JsonNode root;

    private HfConfig(Path file, JsonNode root) {
        this.file = file;
        this.root = root;
    }

    /** Reads and parses {@code file}. */
    public static HfConfig read(Path file) {
        if (!Files.isRegularFile(file)) throw new ModelFormatException(file, "config file not found");
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new ModelFormatException(file, "not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read config (" + e.getMessage() + ")", e);
        }
        if (root == null || !root.isObject()) throw new ModelFormatException(file, "config is not a JSON object");
        return new HfConfig(file, root);
    }

    public Path file() { return file; }

    /** True when {@code key} is present and not null. */
    public boolean has(String key) {
        JsonNode n = root.get(key);
        return n != null && !n.isNull();
    }

    private JsonNode required(String key) {
        if (!has(key)) throw new ModelFormatException(file, "missing required field \"" + key + "\"");
        return root.get(key);
    }

    private ModelFormatException wrongType(String key, String expected) {
        return new ModelFormatException(file, "field \"" + key + "\" must be " + expected + ", got " + root.get(key));
    }

    /** A required integer field. */
    public int getInt(String key) {
        JsonNode n = required(key);
        if (!n.canConvertToInt() || !n.canConvertToExactIntegral()) throw wrongType(key, "an integer");
        return n.asInt();
    }

    /** An integer field, or {@code fallback} when absent. */
    public int getInt(String key, int fallback) {
        return has(key) ? getInt(key) : fallback;
    }

    /** A required number field. */
    public double getDouble(String key) {
        JsonNode n = required(key);
        if (!n.isNumber()) throw wrongType(key, "a number");
        return n.asDouble();
    }

    /** A number field, or {@code fallback} when absent. */
    public double getDouble(String key, double fallback) {
        return has(key) ? getDouble(key) : fallback;
    }

    /** A required boolean field. */
    public boolean getBoolean(String key) {
        JsonNode n = required(key);
        if (!n.isBoolean()) throw wrongType(key, "true or false");
        return n.booleanValue();
    }

    /** A boolean field, or {@code fallback} when absent. */
    public boolean getBoolean(String key, boolean fallback) {
        return has(key) ? getBoolean(key) : fallback;
    }

    /** A required string field. */
    public String getString(String key) {
        JsonNode n = required(key);
        if (!n.isTextual()) throw wrongType(key, "a string");
        return n.textValue();
    }

    /** A string field, or {@code fallback} when absent. */
    public String getString(String key, String fallback) {
        return has(key) ? getString(key) : fallback;
    }
}
