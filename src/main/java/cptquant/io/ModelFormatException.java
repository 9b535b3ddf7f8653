package cptquant.io;

import java.nio.file.Path;

/** A model, tokenizer or data file that cannot be read; the message is one line naming the file. */
public class ModelFormatException extends RuntimeException {
    public ModelFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public ModelFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
