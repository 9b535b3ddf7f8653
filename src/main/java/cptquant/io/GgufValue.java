package cptquant.io;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * One GGUF metadata value: a typed scalar, a string, or a homogeneous array. The value type is part of
 * the file format (llama.cpp rejects e.g. an INT32 where it expects UINT32), so it is kept explicitly.
 */
public sealed interface GgufValue {

    /** GGUF's {@code gguf_metadata_value_type}, with the on-disk ids. */
    enum Type {
        UINT8(0), INT8(1), UINT16(2), INT16(3), UINT32(4), INT32(5), FLOAT32(6), BOOL(7), STRING(8), ARRAY(9),
        UINT64(10), INT64(11), FLOAT64(12);

        private final int id;

        Type(int id) { this.id = id; }

        /** The id written in the file. */
        public int id() { return id; }

        /** The type with on-disk id {@code id}, or null when there is none (ids are 0..12 in declaration order). */
        public static Type byId(int id) {
            return id >= 0 && id < values().length ? values()[id] : null;
        }
    }

    /** The value's GGUF type. */
    Type type();

    /** An integer of any width; UINT64 values above Long.MAX_VALUE are held as their two's-complement bits. */
    record IntValue(Type type, long value) implements GgufValue {
        public IntValue {
            long[] range = switch (type) {
                case UINT8 -> new long[] {0, 0xffL};
                case INT8 -> new long[] {Byte.MIN_VALUE, Byte.MAX_VALUE};
                case UINT16 -> new long[] {0, 0xffffL};
                case INT16 -> new long[] {Short.MIN_VALUE, Short.MAX_VALUE};
                case UINT32 -> new long[] {0, 0xffff_ffffL};
                case INT32 -> new long[] {Integer.MIN_VALUE, Integer.MAX_VALUE};
                case UINT64, INT64 -> new long[] {Long.MIN_VALUE, Long.MAX_VALUE};
                default -> throw new IllegalArgumentException(type + " is not an integer type");
            };
            if (value < range[0] || value > range[1]) {
                throw new IllegalArgumentException(value + " does not fit " + type);
            }
        }
    }

    /** A FLOAT32 or FLOAT64. */
    record FloatValue(Type type, double value) implements GgufValue {
        public FloatValue {
            if (type != Type.FLOAT32 && type != Type.FLOAT64) throw new IllegalArgumentException(type + " is not a float type");
        }
    }

    /** A BOOL. */
    record BoolValue(boolean value) implements GgufValue {
        @Override public Type type() { return Type.BOOL; }
    }

    /** A UTF-8 STRING. */
    record StringValue(String value) implements GgufValue {
        @Override public Type type() { return Type.STRING; }
    }

    /** An ARRAY whose elements all have {@code elementType} (arrays of arrays are allowed by the format). */
    record ArrayValue(Type elementType, List<GgufValue> elements) implements GgufValue {
        public ArrayValue {
            elements = List.copyOf(elements);
            for (GgufValue e : elements) {
                if (e.type() != elementType) {
                    throw new IllegalArgumentException("array of " + elementType + " holds a " + e.type());
                }
            }
        }

        @Override public Type type() { return Type.ARRAY; }
    }

    /** A UINT32 (counts, sizes, token ids). */
    static GgufValue uint32(long v) { return new IntValue(Type.UINT32, v); }

    /** An INT32. */
    static GgufValue int32(int v) { return new IntValue(Type.INT32, v); }

    /** A UINT64. */
    static GgufValue uint64(long v) { return new IntValue(Type.UINT64, v); }

    /** A FLOAT32 (epsilons, rope bases). */
    static GgufValue float32(float v) { return new FloatValue(Type.FLOAT32, v); }

    /** A BOOL. */
    static GgufValue bool(boolean v) { return new BoolValue(v); }

    /** A STRING. */
    static GgufValue string(String v) { return new StringValue(v); }

    /** An ARRAY of STRING (tokenizer vocabularies). */
    static GgufValue strings(List<String> v) {
        return new ArrayValue(Type.STRING, v.stream().map(GgufValue::string).toList());
    }

    /** An ARRAY of FLOAT32 (token scores). */
    static GgufValue float32s(float[] v) {
        return new ArrayValue(Type.FLOAT32, IntStream.range(0, v.length).mapToObj(i -> float32(v[i])).toList());
    }

    /** An ARRAY of INT32 (token types). */
    static GgufValue int32s(int[] v) {
        return new ArrayValue(Type.INT32, Arrays.stream(v).mapToObj(GgufValue::int32).toList());
    }
}
