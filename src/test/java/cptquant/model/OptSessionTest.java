package cptquant.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import cptquant.tensor.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** KV-cached decoding of OPT against the full-sequence forward pass. */
class OptSessionTest {
    @TempDir Path dir;

    static Stream<Arguments> variants() {
        OptCheckpoints.Spec s = OptCheckpoints.Spec.small();
        return Stream.of(
                Arguments.of("pre-LN", s),
                Arguments.of("pre-LN, the KV cache growing three times and then capped",
                        s.sized(s.vocab(), s.hidden(), s.layers(), s.heads(), s.ffn(), 4 * KvCache.INITIAL_POSITIONS + 6)),
                Arguments.of("post-LN with project_in/out, F16", s.postLn().projected(8).stored(DType.F16)),
                Arguments.of("pre-LN with projections, no biases, no LN affine, silu", s.projected(12).plain("silu")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void sessionLogitsEqualFullSequenceLogitsAtEveryPosition(String label, OptCheckpoints.Spec spec) throws IOException {
        OptCheckpoints.write(dir, spec, OptCheckpoints.generate(spec, 5));
        OptModel m = OptModel.load(dir);
        Random r = new Random(3);
        int[] ids = new int[spec.maxPos()]; // every position, so the offset-2 position rows all line up
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(spec.vocab());
        float[] full = m.logits(ids);

        DecodingSession session = m.startSession();
        int v = spec.vocab();
        for (int t = 0; t < ids.length; t++) {
            assertEquals(t, session.position());
            float[] step = session.next(ids[t]);
            assertEquals(v, step.length);
            double diff = 0;
            for (int j = 0; j < v; j++) diff = Math.max(diff, Math.abs(step[j] - full[t * v + j]));
            assertEquals(0, diff, 1e-4, "position " + t);
        }
        assertThrows(IllegalStateException.class, () -> session.next(ids[0]));
    }
}
