package cptquant.cli;

import cptquant.io.ModelFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the cptquant command line. */
@Command(name = "cptquant", mixinStandardHelpOptions = true, version = "cptquant 0.1.0",
        description = "Mixed-precision post-training quantization of transformer language models.",
        subcommands = {CommandLine.HelpCommand.class, EvalCommand.class, SensitivityCommand.class, ReportCommand.class,
                BenchCommand.class, DemoCommand.class, GenerateCommand.class, ExportCommand.class,
                QuantizeCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code; errors in input become one line on stderr and exit 2. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Throwable root = ex;
            if (root instanceof ModelFormatException || root instanceof IllegalArgumentException
                    || root instanceof java.io.UncheckedIOException || root instanceof java.io.IOException) {
                cmd.getErr().println("cptquant: " + root.getMessage());
                return 2;
            }
            throw ex;
        });
        cli.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("cptquant: " + ex.getMessage() + " (see: "
                    + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help)");
            return 2;
        });
        return cli.execute(args);
    }
}
