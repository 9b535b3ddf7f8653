package cptquant.task;

import cptquant.model.LoadedModel;

/** Resolves a --task name for a loaded model. */
public final class Tasks {
    private Tasks() {}

    /** "wikitext2" for decoders; "imdb" or "embed" (built-in sentences, no data needed) for encoders. */
    public static Task create(LoadedModel model, String name, TaskSettings settings) {
        return switch (name) {
            case "wikitext2" -> {
                if (!(model instanceof LoadedModel.Causal c)) throw wrongKind(model, name, "a decoder (OPT, Llama)");
                yield new LanguageModelingTask(c.model(), c.tokenizer(), settings);
            }
            case "imdb", "embed" -> {
                if (!(model instanceof LoadedModel.Encoding e)) throw wrongKind(model, name, "an encoder (BERT family)");
                yield name.equals("imdb") ? new ClassificationTask(e.model(), e.tokenizer(), settings)
                        : new EmbeddingTask(e.model(), e.tokenizer(), settings.calibSeqlen());
            }
            default -> throw new IllegalArgumentException("--task must be wikitext2, imdb or embed, got '" + name + "'");
        };
    }

    private static IllegalArgumentException wrongKind(LoadedModel m, String task, String needs) {
        return new IllegalArgumentException("--task " + task + " needs " + needs + "; " + m.name() + " is a "
                + m.model().architecture() + " model");
    }
}
