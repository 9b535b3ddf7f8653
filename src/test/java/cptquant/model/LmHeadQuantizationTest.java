package cptquant.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import cptquant.quant.ModelQuantizer;
import cptquant.quant.QuantSpec;
import cptquant.tensor.DenseWeight;
import cptquant.tensor.PackedWeight;
import cptquant.tensor.Weight;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Quantizing an OPT's LM head in memory, and with it the token embedding when the two are tied. */
class LmHeadQuantizationTest {
    private static final OptCheckpoints.Spec SPEC = OptCheckpoints.Spec.small();
    private static final int[] TOKENS = {3, 17, 0, 36, 5, 9, 22, 17};

    @TempDir Path dir;

    private OptModel opt(boolean tied) throws IOException {
        OptCheckpoints.Weights w = OptCheckpoints.generate(SPEC, 21);
        if (tied) OptCheckpoints.write(dir, SPEC, w);
        else OptCheckpoints.writeUntied(dir, SPEC, w, 22);
        return OptModel.load(dir);
    }

    static Stream<Arguments> heads() {
        return Stream.of(true, false).flatMap(tied -> Stream.of(
                Arguments.of(tied, new QuantSpec.Int(8, 0, false)),
                Arguments.of(tied, new QuantSpec.Int(8, 0, true)),
                Arguments.of(tied, new QuantSpec.Int(4, 8, false)),
                Arguments.of(tied, new QuantSpec.Int(4, 0, true))));
    }

    @ParameterizedTest(name = "tied {0}, {1}")
    @MethodSource("heads")
    void aPackedHeadComputesWhatItsDenseDequantizedCopyDoes(boolean tied, QuantSpec.Int spec) throws IOException {
        OptModel quantized = opt(tied);
        float[] originalTable = quantized.otherParameters().get("embed_tokens.weight");
        ModelQuantizer.apply(quantized, Map.of(CausalLM.LM_HEAD, spec));
        Weight head = quantized.lmHead().weight();
        PackedWeight packed = assertInstanceOf(PackedWeight.class, head);
        assertEquals(spec.bits(), packed.bits());
        assertEquals(spec.groupSize() == 0 ? SPEC.proj() : spec.groupSize(), packed.groupSize());
        float[] dequantized = head.toFloat();

        OptModel reference = OptModel.load(dir);
        reference.lmHead().setWeight(DenseWeight.ofFloats(dequantized, SPEC.vocab(), SPEC.proj()));
        float[] expected = reference.logits(TOKENS);
        assertArrayEquals(expected, quantized.logits(TOKENS), 1e-5f * QuantizedCheckpointTest.maxAbs(expected));

        DecodingSession a = quantized.startSession(), b = reference.startSession();
        for (int t : TOKENS) {
            float[] want = b.next(t);
            assertArrayEquals(want, a.next(t), 1e-5f * QuantizedCheckpointTest.maxAbs(want));
        }

        // The residual stream entering block 0 is the token's embedding row plus its position row (offset 2):
        // the quantized row when tied, the untouched table when not.
        float[] table = tied ? dequantized : originalTable;
        float[] positions = quantized.otherParameters().get("embed_positions.weight");
        float[][] seen = new float[1][];
        quantized.logits(TOKENS, (block, in, out, rows, dim, valid) -> { if (block == 0) seen[0] = in.clone(); });
        int d = SPEC.hidden();
        float[] want = new float[TOKENS.length * d];
        double changed = 0;
        for (int t = 0; t < TOKENS.length; t++) {
            for (int i = 0; i < d; i++) {
                want[t * d + i] = table[TOKENS[t] * d + i] + positions[(t + 2) * d + i];
                changed = Math.max(changed, Math.abs(dequantized[TOKENS[t] * d + i] - originalTable[TOKENS[t] * d + i]));
            }
        }
        assertTrue(changed > 1e-3, "quantization moved the looked-up rows by " + changed);
        assertArrayEquals(want, seen[0], 1e-6f);
        assertEquals(tied ? "embed_tokens.weight" : "lm_head.weight", quantized.lmHeadTable());
        assertArrayEquals(dequantized, quantized.otherParameters().get(quantized.lmHeadTable()));
    }

    @Test
    void undoRestoresTheHeadAndTheTiedEmbedding() throws IOException {
        OptModel m = opt(true);
        Weight original = m.lmHead().weight();
        float[] before = m.logits(TOKENS);
        ModelQuantizer.Undo undo = ModelQuantizer.apply(m, Map.of(CausalLM.LM_HEAD, new QuantSpec.Int(4, 0, false),
                "layers.1", new QuantSpec.Int(8, 0, false)));
        assertInstanceOf(PackedWeight.class, m.lmHead().weight());
        undo.restore();
        assertSame(original, m.lmHead().weight());
        assertArrayEquals(before, m.logits(TOKENS), 0f);
    }

    @Test
    void anEncoderHasNoHeadToQuantize() {
        TransformerModel bert = Models.load("minilm").model();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelQuantizer.apply(bert, Map.of(CausalLM.LM_HEAD, new QuantSpec.Int(8, 0, false))));
        assertEquals("a bert model has no LM head to quantize (\"lm_head\")", e.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> ModelQuantizer.apply(bert, Map.of("head", new QuantSpec.Int(8, 0, false))));
        assertTrue(unknown.getMessage().contains("[head]"), unknown.getMessage());
    }
}
