package cptquant.io;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The computation graph and weights of an ONNX model, read straight from the protobuf wire format
 * (ModelProto → GraphProto) with no generated classes. Only what graph-structure analysis needs is
 * kept: nodes with their attributes, initializers decoded to float or integer arrays, and the graph's
 * input and output names.
 *
 * @param source       the file the model came from (named in errors)
 * @param nodes        graph nodes in file (topological) order
 * @param initializers constant tensors by name
 * @param inputs       graph input names (initializers excluded)
 * @param outputs      graph output names
 */
public record OnnxModel(Path source, List<Node> nodes, Map<String, Initializer> initializers,
                        List<String> inputs, List<String> outputs) {

    public OnnxModel {
        nodes = List.copyOf(nodes);
        initializers = Map.copyOf(initializers);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    /** One graph node: operator type, input and output value names (an absent optional input is ""). */
    public record Node(String name, String opType, List<String> inputs, List<String> outputs,
                       Map<String, Attribute> attributes) {
        public Node {
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
            attributes = Map.copyOf(attributes);
        }

        /** The attribute named {@code name}, if set. */
        public Optional<Attribute> attribute(String name) {
            return Optional.ofNullable(attributes.get(name));
        }
    }

    /**
     * A node attribute; only the field matching its kind is meaningful (f / i / s / t / floats / ints).
     * {@code t} is null unless the attribute holds a tensor.
     */
    public record Attribute(String name, float f, long i, String s, Initializer t, float[] floats, long[] ints) {}

    /** A constant tensor with its shape, decoded to Java arrays. */
    public sealed interface Initializer {
        String name();

        long[] dims();

        /** Number of elements (product of dims; 1 for a scalar). */
        default long size() {
            long n = 1;
            for (long d : dims()) n *= d;
            return n;
        }

        /** FLOAT, FLOAT16, BFLOAT16 or DOUBLE data, widened or narrowed to float. */
        record Floats(String name, long[] dims, float[] data) implements Initializer {}

        /** Integer or boolean data, widened to long. */
        record Longs(String name, long[] dims, long[] data) implements Initializer {}
    }

    /** Reads an ONNX model file. */
    public static OnnxModel read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read (" + e.getMessage() + ")", e);
        }
        return parse(bytes, file);
    }

    /** Parses ONNX model bytes; {@code source} names the origin in errors. */
    public static OnnxModel parse(byte[] bytes, Path source) {
        try {
            return new Reader(source, CodedInputStream.newInstance(bytes)).model();
        } catch (IOException e) {
            throw new ModelFormatException(source, "truncated or malformed ONNX protobuf (" + e.getMessage() + ")", e);
        }
    }

    /** The constant behind value {@code name}: an initializer or the output of a Constant node. */
    public Optional<Initializer> constant(String name) {
        Initializer init = initializers.get(name);
        if (init != null) return Optional.of(init);
        for (Node n : nodes) {
            if (n.opType().equals("Constant") && n.outputs().contains(name)) {
                return n.attribute("value").map(Attribute::t);
            }
        }
        return Optional.empty();
    }

    /** ONNX TensorProto.DataType codes this reader decodes. */
    private static final int FLOAT = 1, UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6, INT64 = 7,
            BOOL = 9, FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, BFLOAT16 = 16;

    /** One pass over the wire format; sub-messages are read in place under a pushed length limit. */
    private record Reader(Path source, CodedInputStream in) {

        OnnxModel model() throws IOException {
            OnnxModel model = null;
            for (int tag; (tag = in.readTag()) != 0; ) {
                if (WireFormat.getTagFieldNumber(tag) == 7 && isLengthDelimited(tag)) {
                    int limit = enter();
                    model = graph();
                    in.popLimit(limit);
                } else {
                    skip(tag);
                }
            }
            if (model == null) throw new ModelFormatException(source, "no graph (ModelProto field 7); not an ONNX model?");
            return model;
        }

        private OnnxModel graph() throws IOException {
            List<Node> nodes = new ArrayList<>();
            Map<String, Initializer> inits = new LinkedHashMap<>();
            List<String> inputs = new ArrayList<>(), outputs = new ArrayList<>();
            for (int tag; (tag = in.readTag()) != 0; ) {
                int field = WireFormat.getTagFieldNumber(tag);
                if (!isLengthDelimited(tag) || (field != 1 && field != 5 && field != 11 && field != 12)) {
                    skip(tag);
                    continue;
                }
                int limit = enter();
                switch (field) {
                    case 1 -> nodes.add(node());
                    case 5 -> {
                        Initializer t = tensor();
                        inits.put(t.name(), t);
                    }
                    case 11 -> inputs.add(valueInfoName());
                    default -> outputs.add(valueInfoName());
                }
                in.popLimit(limit);
            }
            inputs.removeIf(inits::containsKey);
            return new OnnxModel(source, nodes, inits, inputs, outputs);
        }

        private Node node() throws IOException {
            String name = "", op = "";
            List<String> inputs = new ArrayList<>(), outputs = new ArrayList<>();
            Map<String, Attribute> attrs = new LinkedHashMap<>();
            for (int tag; (tag = in.readTag()) != 0; ) {
                switch (WireFormat.getTagFieldNumber(tag)) {
                    case 1 -> inputs.add(in.readStringRequireUtf8());
                    case 2 -> outputs.add(in.readStringRequireUtf8());
                    case 3 -> name = in.readStringRequireUtf8();
                    case 4 -> op = in.readStringRequireUtf8();
                    case 5 -> {
                        int limit = enter();
                        Attribute a = attribute();
                        attrs.put(a.name(), a);
                        in.popLimit(limit);
                    }
                    default -> skip(tag);
                }
            }
            return new Node(name, op, inputs, outputs, attrs);
        }

        private Attribute attribute() throws IOException {
            String name = "", s = "";
            float f = 0;
            long i = 0;
            Initializer t = null;
            FloatList floats = new FloatList();
            LongList ints = new LongList();
            for (int tag; (tag = in.readTag()) != 0; ) {
                switch (WireFormat.getTagFieldNumber(tag)) {
                    case 1 -> name = in.readStringRequireUtf8();
                    case 2 -> f = in.readFloat();
                    case 3 -> i = in.readInt64();
                    case 4 -> s = in.readBytes().toStringUtf8();
                    case 5 -> {
                        int limit = enter();
                        t = tensor();
                        in.popLimit(limit);
                    }
                    case 7 -> readFloats(tag, floats);
                    case 8 -> readLongs(tag, ints);
                    default -> skip(tag);
                }
            }
            return new Attribute(name, f, i, s, t, floats.toArray(), ints.toArray());
        }

        private String valueInfoName() throws IOException {
            String name = "";
            for (int tag; (tag = in.readTag()) != 0; ) {
                if (WireFormat.getTagFieldNumber(tag) == 1) name = in.readStringRequireUtf8();
                else skip(tag);
            }
            return name;
        }

        private Initializer tensor() throws IOException {
            String name = "";
            int type = 0;
            LongList dims = new LongList(), ints = new LongList();
            FloatList floats = new FloatList();
            ByteString raw = null;
            boolean external = false;
            for (int tag; (tag = in.readTag()) != 0; ) {
                switch (WireFormat.getTagFieldNumber(tag)) {
                    case 1 -> readLongs(tag, dims);
                    case 2 -> type = in.readInt32();
                    case 4 -> readFloats(tag, floats);
                    case 5, 7 -> readLongs(tag, ints); // int32_data holds every type narrower than 32 bits too
                    case 8 -> name = in.readStringRequireUtf8();
                    case 9 -> raw = in.readBytes();
                    case 14 -> external = in.readEnum() == 1;
                    default -> skip(tag);
                }
            }
            if (external) throw new ModelFormatException(source, "tensor '" + name + "' uses external data, which is not supported");
            long[] shape = dims.toArray();
            long count = 1;
            for (long d : shape) {
                if (d < 0) throw new ModelFormatException(source, "tensor '" + name + "' has negative dimension " + d);
                count = Math.multiplyExact(count, d);
            }
            if (count > Integer.MAX_VALUE) throw new ModelFormatException(source, "tensor '" + name + "' is too large");
            int n = (int) count;
            int width = elementBytes(type, name);
            if (raw != null) return fromRaw(name, shape, type, width, n, raw);
            if (type == DOUBLE || type == UINT32) {
                throw new ModelFormatException(source, "tensor '" + name + "' stores data type " + type
                        + " in double_data/uint64_data, which is not supported");
            }
            int have = type == FLOAT ? floats.size() : ints.size();
            if (have != n) {
                throw new ModelFormatException(source, "tensor '" + name + "' has " + have + " values for shape with " + n + " elements");
            }
            if (type == FLOAT) return new Initializer.Floats(name, shape, floats.toArray());
            if (type == FLOAT16 || type == BFLOAT16) {
                float[] out = new float[n];
                long[] bits = ints.toArray();
                for (int k = 0; k < n; k++) out[k] = halfToFloat(type, (int) bits[k]);
                return new Initializer.Floats(name, shape, out);
            }
            return new Initializer.Longs(name, shape, ints.toArray());
        }

        private Initializer fromRaw(String name, long[] shape, int type, int width, int n, ByteString raw) {
            if (raw.size() != (long) n * width) {
                throw new ModelFormatException(source, "tensor '" + name + "' raw_data has " + raw.size()
                        + " bytes, shape needs " + (long) n * width);
            }
            ByteBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            switch (type) {
                case FLOAT, FLOAT16, BFLOAT16, DOUBLE -> {
                    float[] out = new float[n];
                    for (int k = 0; k < n; k++) {
                        out[k] = switch (type) {
                            case FLOAT -> b.getFloat();
                            case DOUBLE -> (float) b.getDouble();
                            default -> halfToFloat(type, b.getShort());
                        };
                    }
                    return new Initializer.Floats(name, shape, out);
                }
                default -> {
                    long[] out = new long[n];
                    for (int k = 0; k < n; k++) {
                        out[k] = switch (type) {
                            case INT64 -> b.getLong();
                            case INT32 -> b.getInt();
                            case UINT32 -> b.getInt() & 0xffffffffL;
                            case INT16 -> b.getShort();
                            case UINT16 -> b.getShort() & 0xffff;
                            case INT8 -> b.get();
                            default -> b.get() & 0xff; // UINT8, BOOL
                        };
                    }
                    return new Initializer.Longs(name, shape, out);
                }
            }
        }

        private int elementBytes(int type, String name) {
            return switch (type) {
                case FLOAT, INT32, UINT32 -> 4;
                case INT64, DOUBLE -> 8;
                case FLOAT16, BFLOAT16, INT16, UINT16 -> 2;
                case INT8, UINT8, BOOL -> 1;
                default -> throw new ModelFormatException(source, "tensor '" + name + "' has unsupported data type " + type);
            };
        }

        private static float halfToFloat(int type, int bits) {
            return type == FLOAT16 ? Float.float16ToFloat((short) bits) : Float.intBitsToFloat((bits & 0xffff) << 16);
        }

        /** Reads a length prefix and limits the stream to that sub-message; returns the old limit. */
        private int enter() throws IOException {
            int length = in.readRawVarint32();
            if (length < 0) throw new ModelFormatException(source, "negative sub-message length");
            return in.pushLimit(length);
        }

        private void readLongs(int tag, LongList out) throws IOException {
            if (isLengthDelimited(tag)) {
                int limit = enter();
                while (!in.isAtEnd()) out.add(in.readInt64());
                in.popLimit(limit);
            } else {
                out.add(in.readInt64());
            }
        }

        private void readFloats(int tag, FloatList out) throws IOException {
            if (isLengthDelimited(tag)) {
                int limit = enter();
                while (!in.isAtEnd()) out.add(in.readFloat());
                in.popLimit(limit);
            } else {
                out.add(in.readFloat());
            }
        }

        private void skip(int tag) throws IOException {
            if (!in.skipField(tag)) {
                throw new ModelFormatException(source, "malformed protobuf: unexpected end-group tag");
            }
        }

        private static boolean isLengthDelimited(int tag) {
            return WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
        }
    }

    /** Growable primitive lists, so large typed tensors are not boxed. */
    private static final class LongList {
        private long[] a = new long[8];
        private int n;

        void add(long v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int size() { return n; }

        long[] toArray() { return java.util.Arrays.copyOf(a, n); }
    }

    private static final class FloatList {
        private float[] a = new float[8];
        private int n;

        void add(float v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int size() { return n; }

        float[] toArray() { return java.util.Arrays.copyOf(a, n); }
    }
}
