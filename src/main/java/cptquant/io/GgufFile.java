package cptquant.io;

import cptquant.quant.GgmlBlocks;
import cptquant.quant.GgmlType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@link GgufReader} found in a GGUF file: its version, metadata (in file order), tensor infos,
 * and where the data section starts. Tensor data is read on request.
 */
public record GgufFile(Path path, int version, Map<String, GgufValue> metadata, List<GgufTensorInfo> tensors,
                       int alignment, long dataOffset) {

    /** The tensor called {@code name}, if present. */
    public Optional<GgufTensorInfo> tensor(String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst();
    }

    /** The tensor's values decoded to float (only for the types cptquant writes). */
    public float[] values(GgufTensorInfo t) {
        GgmlType type = t.type().orElseThrow(() -> new ModelFormatException(path,
                "tensor " + t.name() + " has ggml type " + t.ggmlType() + ", which cptquant cannot decode"));
        if (t.count() > Integer.MAX_VALUE) throw new ModelFormatException(path, "tensor " + t.name() + " is too large to decode");
        int count = (int) t.count();
        ByteBuffer bytes = ByteBuffer.allocate(Math.toIntExact(type.bytes(count)));
        try (FileChannel in = FileChannel.open(path)) {
            long at = dataOffset + t.offset();
            while (bytes.hasRemaining()) {
                if (in.read(bytes, at + bytes.position()) < 0) {
                    throw new ModelFormatException(path, "tensor " + t.name() + " data runs past the end of the file");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot read (" + e.getMessage() + ")", e);
        }
        float[] out = new float[count];
        GgmlBlocks.decode(type, bytes.flip(), out, 0, count);
        return out;
    }
}
