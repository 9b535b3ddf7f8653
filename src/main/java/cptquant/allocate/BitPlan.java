package cptquant.allocate;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import cptquant.io.AtomicFiles;
import cptquant.io.ModelFormatException;
import cptquant.quant.QuantSpec;
import cptquant.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * How each unit (block or module name, as {@link cptquant.quant.ModelQuantizer#apply} takes them) is
 * stored, with the method that chose it and free-form string metadata. Stored as JSON meant to be read
 * and edited by hand:
 *
 * <pre>{@code
 * {"method": "cmpq-kmeans3",
 *  "metadata": {"sensitivity": "CMPQ"},
 *  "units": {"layers.0": {"bits": 16, "group_size": 0},
 *            "layers.1": {"bits": 4, "group_size": 128}}}
 * }</pre>
 *
 * <p>Per unit: {@code bits} 16 (FP16; {@code "dtype": "bf16"} for BF16), 8 or 4 (asymmetric integers;
 * {@code "symmetric": true} for symmetric); {@code group_size} inputs per scale, 0 or absent meaning one
 * scale per output channel. {@code method} and {@code metadata} are optional. Anything else is rejected
 * with a one-line {@link ModelFormatException} naming the file, so a typo never silently changes a plan.
 *
 * @param units    spec per unit name, in the order given (block order, for plans made here)
 * @param method   what produced the plan, or null when unknown
 * @param metadata extra facts worth keeping with the plan (budget, sensitivity method, ...)
 */
public record BitPlan(Map<String, QuantSpec> units, String method, Map<String, String> metadata) {
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final Set<String> TOP_KEYS = Set.of("units", "method", "metadata");
    private static final Set<String> UNIT_KEYS = Set.of("bits", "group_size", "symmetric", "dtype");

    public BitPlan {
        if (units.isEmpty()) throw new IllegalArgumentException("a plan needs at least one unit");
        units = Collections.unmodifiableMap(new LinkedHashMap<>(units));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** A plan without metadata. */
    public BitPlan(Map<String, QuantSpec> units, String method) {
        this(units, method, Map.of());
    }

    /** Reads and validates a plan file. */
    public static BitPlan read(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            String at = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            // Jackson appends where an unclosed object began, with a source note; the position above suffices.
            String problem = e.getOriginalMessage().lines().findFirst().orElse("").replaceFirst(" \\(start marker at .*", "");
            throw new ModelFormatException(file, "not valid JSON" + at + ": " + problem, e);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read (" + e + ")", e);
        }
        if (root == null || !root.isObject()) throw new ModelFormatException(file, "a plan must be a JSON object");
        checkKeys(file, "plan", root, TOP_KEYS);
        JsonNode unitsNode = root.get("units");
        if (unitsNode == null || !unitsNode.isObject() || unitsNode.isEmpty()) {
            throw new ModelFormatException(file, "\"units\" must be a non-empty object of unit name -> {\"bits\": ..}");
        }
        Map<String, QuantSpec> units = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : unitsNode.properties()) {
            units.put(e.getKey(), spec(file, "unit " + e.getKey(), e.getValue()));
        }
        JsonNode methodNode = root.get("method");
        if (methodNode != null && !methodNode.isTextual()) throw new ModelFormatException(file, "\"method\" must be a string");
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode metaNode = root.get("metadata");
        if (metaNode != null) {
            if (!metaNode.isObject()) throw new ModelFormatException(file, "\"metadata\" must be an object");
            for (Map.Entry<String, JsonNode> e : metaNode.properties()) {
                if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                    throw new ModelFormatException(file, "metadata " + e.getKey() + " must be a string, number or boolean");
                }
                metadata.put(e.getKey(), e.getValue().asText());
            }
        }
        return new BitPlan(units, methodNode == null ? null : methodNode.asText(), metadata);
    }

    private static QuantSpec spec(Path file, String where, JsonNode node) {
        if (!node.isObject()) throw new ModelFormatException(file, where + ": expected an object like {\"bits\": 4, \"group_size\": 128}");
        checkKeys(file, where, node, UNIT_KEYS);
        if (!node.has("bits")) throw new ModelFormatException(file, where + ": \"bits\" (4, 8 or 16) is missing");
        int bits = integer(file, where, node, "bits");
        int group = node.has("group_size") ? integer(file, where, node, "group_size") : 0;
        if (group < 0) throw new ModelFormatException(file, where + ": group_size must be >= 0, got " + group);
        JsonNode dtype = node.get("dtype"), symmetric = node.get("symmetric");
        return switch (bits) {
            case 16 -> {
                if (group != 0) throw new ModelFormatException(file, where + ": 16-bit storage has no group_size (use 0)");
                if (symmetric != null) throw new ModelFormatException(file, where + ": \"symmetric\" applies to 4 and 8 bits only");
                if (dtype == null || dtype.asText().equals("f16")) yield new QuantSpec.Half(DType.F16);
                if (dtype.asText().equals("bf16")) yield new QuantSpec.Half(DType.BF16);
                throw new ModelFormatException(file, where + ": dtype must be \"f16\" or \"bf16\", got " + dtype);
            }
            case 4, 8 -> {
                if (dtype != null) throw new ModelFormatException(file, where + ": \"dtype\" applies to 16 bits only");
                if (symmetric != null && !symmetric.isBoolean()) {
                    throw new ModelFormatException(file, where + ": \"symmetric\" must be true or false");
                }
                yield new QuantSpec.Int(bits, group, symmetric != null && symmetric.asBoolean());
            }
            default -> throw new ModelFormatException(file, where + ": bits must be 4, 8 or 16, got " + bits);
        };
    }

    private static int integer(Path file, String where, JsonNode node, String key) {
        JsonNode v = node.get(key);
        if (!v.canConvertToExactIntegral() || !v.canConvertToInt()) {
            throw new ModelFormatException(file, where + ": " + key + " must be a whole number, got " + v);
        }
        return v.asInt();
    }

    private static void checkKeys(Path file, String where, JsonNode node, Set<String> allowed) {
        for (String key : (Iterable<String>) node::fieldNames) {
            if (!allowed.contains(key)) {
                throw new ModelFormatException(file, where + ": unknown key \"" + key + "\" (allowed: "
                        + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
        }
    }

    /** Writes the plan atomically as indented JSON (only non-default keys per unit). */
    public void write(Path file) {
        ObjectNode root = JSON.createObjectNode();
        if (method != null) root.put("method", method);
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject("metadata");
            metadata.forEach(meta::put);
        }
        ObjectNode unitsNode = root.putObject("units");
        units.forEach((name, spec) -> {
            ObjectNode u = unitsNode.putObject(name);
            u.put("bits", spec.bits());
            switch (spec) {
                case QuantSpec.Half h -> {
                    u.put("group_size", 0);
                    if (h.dtype() == DType.BF16) u.put("dtype", "bf16");
                }
                case QuantSpec.Int i -> {
                    u.put("group_size", i.groupSize());
                    if (i.symmetric()) u.put("symmetric", true);
                }
            }
        });
        try {
            AtomicFiles.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a plan tree", e);
        }
    }
}
