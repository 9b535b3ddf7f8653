package cptquant.cli;

import cptquant.model.LoadedModel;
import cptquant.model.Models;
import cptquant.report.ReportRunner;
import cptquant.report.ReportWriter;
import cptquant.sensitivity.Method;
import cptquant.sensitivity.Sensitivity;
import cptquant.task.EmbeddingTask;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code cptquant demo}: the whole method on the embedded all-MiniLM-L6-v2 with built-in sentences, so it
 * runs on any machine in about a minute: CMPQ/PMPQ/TDMPQ sensitivity, the paper's k-means plans and
 * budgeted plans, uniform baselines, measured as embedding fidelity to the FP32 model.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the CPTQuant method on the embedded all-MiniLM-L6-v2 (no data needed) and print a short report.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "cptquant-demo", description = "where report.md, report.json and plots go (default ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() {
        System.err.println("loading the embedded all-MiniLM-L6-v2 ...");
        LoadedModel.Encoding lm = (LoadedModel.Encoding) Models.load("minilm");
        EmbeddingTask task = new EmbeddingTask(lm.model(), lm.tokenizer(), 128);
        var settings = new ReportRunner.Settings(List.of(Method.CMPQ, Method.PMPQ, Method.TDMPQ),
                Sensitivity.Options.defaults(), 64, 0, new double[] {4.5, 6, 8, 12}, Method.DIRECT);
        ReportRunner.Result r = new ReportRunner(lm.model(), task, settings, System.err::println).run("all-MiniLM-L6-v2");
        System.out.println(ReportWriter.write(r, out));
        System.err.println("wrote " + out.resolve("report.md") + " (with report.json and plots); for the paper's IMDB"
                + " experiment run: ./cptquant report --model minilm --task imdb");
        return 0;
    }
}
