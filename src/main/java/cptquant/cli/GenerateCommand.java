package cptquant.cli;

import cptquant.kernel.Parallel;
import cptquant.model.CausalLM;
import cptquant.model.Generator;
import cptquant.model.LoadedModel;
import cptquant.model.Models;
import cptquant.model.Sampler;
import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.IntPredicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cptquant generate}: continues a prompt with a causal language model, streaming the text. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt with a causal LM (llama2.c .bin or OPT directory), printing text as it is generated.")
public final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "M", description = "Model: checkpoint directory or llama2.c .bin.")
    private String model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "Text to continue.")
    private String prompt;

    @Option(names = "--max-tokens", defaultValue = "128", paramLabel = "N",
            description = "Most tokens to generate (default ${DEFAULT-VALUE}); fewer at the model's position limit.")
    private int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T",
            description = "Sampling temperature; 0 is greedy decoding (default ${DEFAULT-VALUE}).")
    private float temperature;

    @Option(names = "--top-p", defaultValue = "0.9", paramLabel = "P",
            description = "Nucleus probability mass when sampling (default ${DEFAULT-VALUE}).")
    private float topP;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed for sampling (default: time-based).")
    private Long seed;

    @Option(names = "--threads", paramLabel = "T", description = "Worker threads (default: all cores).")
    private Integer threads;

    @Override
    public Integer call() {
        if (maxTokens < 1) throw new IllegalArgumentException("--max-tokens must be >= 1, got " + maxTokens);
        if (!(topP <= 1)) throw new IllegalArgumentException("--top-p must be in (0, 1], got " + topP);
        if (!Float.isFinite(temperature)) throw new IllegalArgumentException("--temperature must be finite, got " + temperature);
        Sampler sampler = Sampler.of(temperature, topP, seed != null ? seed : System.nanoTime());
        if (threads != null) Parallel.setThreads(threads);

        if (!(Models.load(model) instanceof LoadedModel.Causal loaded)) {
            throw new IllegalArgumentException(model + " is an encoder; generate needs a causal language model (OPT, llama2.c)");
        }
        CausalLM lm = loaded.model();
        int[] ids = loaded.tokenizer().encode(prompt, lm.maxPositions() + 1);
        if (ids.length > lm.maxPositions()) {
            throw new IllegalArgumentException("the prompt is longer than the model's " + lm.maxPositions() + " positions");
        }

        PrintStream out = System.out;
        TextStream text = new TextStream(loaded.tokenizer(), ids);
        Generator generator = new Generator(lm, endOfText(lm.architecture()));
        Generator.Result r = generator.generate(ids, ids.length + maxTokens - 1, sampler, t -> {
            out.print(text.add(t));
            out.flush();
        });
        out.println(text.flush());
        System.err.printf(Locale.ROOT, "%d prompt tokens, %d generated, %.1f tokens/s (%d positions in %.2f s)%n",
                r.promptLength(), r.generated().length, r.tokensPerSecond(), r.positionsRun(), r.nanos() / 1e9);
        return 0;
    }

    /**
     * Tokens that end a text: OPT's &lt;/s&gt; (2); llama2.c's BOS (1) and EOS (2), as its run.c stops at
     * BOS too.
     */
    private static IntPredicate endOfText(String architecture) {
        return switch (architecture) {
            case "llama" -> t -> t == 1 || t == 2;
            default -> t -> t == 2;
        };
    }
}
