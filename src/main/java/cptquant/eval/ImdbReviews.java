package cptquant.eval;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import cptquant.io.DataPaths;
import cptquant.io.ModelFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/**
 * The IMDB Large Movie Review Dataset (Maas et al. 2011) in the shared JSON-lines form: one object a line
 * with {@code id}, {@code label} (1 positive, 0 negative), {@code rating} and {@code text}, gzip-compressed.
 */
public final class ImdbReviews {
    /** The official splits, relative to the shared data folder. */
    public static final String TRAIN = "data/imdb/train.jsonl.gz";
    public static final String TEST = "data/imdb/test.jsonl.gz";

    private static final ObjectReader READER = new ObjectMapper().readerFor(Review.class);

    private ImdbReviews() {}

    /** One review; {@code label} is 1 for positive, 0 for negative. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Review(String id, int label, String text) {}

    /** The shared train split (25,000 reviews). */
    public static List<Review> train() { return read(DataPaths.resolve(TRAIN)); }

    /** The shared test split (25,000 reviews). */
    public static List<Review> test() { return read(DataPaths.resolve(TEST)); }

    /** Reads a gzip-compressed JSON-lines review file; every review must have a text and a 0/1 label. */
    public static List<Review> read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file, "missing (real data lives in ../shared; set CPTQUANT_SHARED to move it)");
        }
        List<Review> out = new ArrayList<>();
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file), 1 << 16);
             MappingIterator<Review> it = READER.readValues(in)) {
            while (it.hasNextValue()) {
                Review r = it.nextValue();
                if (r.text() == null || (r.label() != 0 && r.label() != 1)) {
                    throw new ModelFormatException(file, "review " + (out.size() + 1)
                            + " needs a text and a label of 0 or 1");
                }
                out.add(r);
            }
        } catch (IOException | UncheckedIOException e) {
            throw new ModelFormatException(file, "not gzip-compressed IMDB JSON lines (" + e.getMessage() + ")", e);
        }
        return out;
    }

    /**
     * A class-balanced subset of {@code n} reviews (half of each label; the odd one is positive), drawn by a
     * seeded shuffle of each class so the same seed gives the same subset; returned in file order. When
     * {@code n} is at least the list's size the whole list is returned.
     */
    public static List<Review> balancedSubset(List<Review> reviews, int n, long seed) {
        if (n < 1) throw new IllegalArgumentException("a subset needs at least 1 review, got " + n);
        if (n >= reviews.size()) return reviews;
        Random random = new Random(seed);
        List<Integer> chosen = new ArrayList<>(n);
        chosen.addAll(pick(reviews, 1, n - n / 2, random));
        chosen.addAll(pick(reviews, 0, n / 2, random));
        if (chosen.size() < n) {
            throw new IllegalArgumentException("cannot draw " + n + " balanced reviews from " + reviews.size());
        }
        Collections.sort(chosen);
        return chosen.stream().map(reviews::get).toList();
    }

    private static List<Integer> pick(List<Review> reviews, int label, int count, Random random) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < reviews.size(); i++) if (reviews.get(i).label() == label) idx.add(i);
        Collections.shuffle(idx, random);
        return idx.subList(0, Math.min(count, idx.size()));
    }
}
