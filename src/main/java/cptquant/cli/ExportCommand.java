package cptquant.cli;

import cptquant.allocate.BitPlan;
import cptquant.io.GgufExport;
import cptquant.io.GgufModels;
import cptquant.model.LoadedModel;
import cptquant.model.Models;
import cptquant.quant.GgmlType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cptquant export}: writes a model, mixed-precision per a plan, as a GGUF file llama.cpp loads. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write a Llama (llama2.c) or BERT model as GGUF for llama.cpp, each block at its planned bits.",
                "Weights are re-quantized from the model's FP32 values into ggml blocks: 4 bits -> Q4_1, 8 -> Q8_0,"
                        + " 16 -> F16 (ggml's fixed 32-value blocks; a plan's group_size and symmetric flags do not apply)."
                        + " Rows that are not whole 32-blocks stay F16; norms and biases are F32."})
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--format", required = true, paramLabel = "FMT", description = "Output format: gguf.")
    private String format;

    @Option(names = "--model", required = true, paramLabel = "M", description = "Model: alias, checkpoint directory or file.")
    private String model;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "GGUF file to write.")
    private Path out;

    @Option(names = "--plan", paramLabel = "PLAN.json",
            description = "Bits per unit (block such as layers.3, module, or embedding parameter); unplanned weights are F16."
                    + " Without a plan each weight keeps the width it is stored at (a saved quantized checkpoint's"
                    + " packed bits, its LM head included); dense ones are F16.")
    private Path plan;

    @Override
    public Integer call() {
        if (!format.equals("gguf")) throw new IllegalArgumentException("unknown --format '" + format + "' (supported: gguf)");
        Map<String, Integer> bits = new LinkedHashMap<>();
        if (plan != null) BitPlan.read(plan).units().forEach((unit, spec) -> bits.put(unit, spec.bits()));
        LoadedModel loaded = Models.load(model);
        if (plan == null) bits.putAll(GgufModels.storedBits(loaded.model()));
        GgufModels.Export export = GgufModels.of(loaded, bits);
        Map<String, GgmlType> types = GgufExport.write(out, export.metadata(), export.tensors());
        Map<GgmlType, Integer> counts = new TreeMap<>();
        types.values().forEach(t -> counts.merge(t, 1, Integer::sum));
        System.out.printf("wrote %s: %d tensors %s, %.1f MB%n", out, types.size(), counts, size(out) / 1e6);
        return 0;
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot stat (" + e.getMessage() + ")", e);
        }
    }
}
