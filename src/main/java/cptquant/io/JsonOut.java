package cptquant.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Path;

/** The project's JSON form of results and small artefacts: pretty-printed Jackson, written atomically. */
public final class JsonOut {
    /** The one configured mapper, also for reading back what {@link #write} wrote. */
    public static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonOut() {}

    /** Pretty JSON of {@code value} (records, maps, lists, arrays). */
    public static String toJson(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** Writes {@code value} as pretty JSON to {@code target} atomically, with a final newline. */
    public static void write(Path target, Object value) {
        AtomicFiles.writeString(target, toJson(value) + "\n");
    }
}
