package dev.sparkautograd.jobs.tour;

import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The seed cells as tests: the tour's outputs are compared with what the seed notebooks printed under
 * PyTorch (test resources {@code seeds/*.txt} beside this class; their README says where they come from).
 * Deterministic outputs must match byte for byte and in order; outputs of the random cells (after randn)
 * must have the same form, with the numbers left free.
 */
public class SeedTourTest {

    private static final Pattern OUTPUT = Pattern.compile("^(\\(?\\s*tensor\\(.*|True|False|None|RuntimeError: .*)$");

    /** The seed files, test resources in {@code seeds/} beside this class; a notebook's id is its file's prefix. */
    private static final List<String> SEED_FILES = List.of("000_51855310eff0996c.txt", "001_a3370e17b3c1021d.txt",
            "002_ba8e2218d29328d6.txt", "003_90018b395088c837.txt", "004_6359344f67824ec7.txt");

    static String seedText(String id) throws IOException {
        String file = SEED_FILES.stream().filter(f -> f.startsWith(id + "_")).findFirst()
                .orElseThrow(() -> new AssertionError("no seed file " + id + "_*.txt"));
        try (InputStream in = SeedTourTest.class.getResourceAsStream("seeds/" + file)) {
            if (in == null) fail("the seed file is not on the test classpath: " + SeedTourTest.class.getPackageName()
                    .replace('.', '/') + "/seeds/" + file);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The output lines of a seed notebook, split at the first randn (the random part). */
    static List<List<String>> seedOutputs(String id) throws IOException {
        String text = seedText(id);
        int randn = text.indexOf("randn");
        List<String> fixed = new ArrayList<>(), random = new ArrayList<>();
        int pos = 0;
        for (String line : text.split("\n", -1)) {
            if (OUTPUT.matcher(line).matches()) (randn >= 0 && pos > randn ? random : fixed).add(line);
            pos += line.length() + 1;
        }
        return List.of(fixed, random);
    }

    /** The tour's output lines for one notebook, split into deterministic and random cells. */
    static List<List<String>> tourOutputs(String id, long seed, Set<String> sections) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        new SeedTour(seed).run(new PrintStream(buf, true, StandardCharsets.UTF_8), sections, Set.of(id));
        return parse(buf.toString(StandardCharsets.UTF_8), id);
    }

    /** Splits the printed tour: the output lines of notebook {@code id}'s deterministic and random cells. */
    public static List<List<String>> parse(String tour, String id) {
        List<String> fixed = new ArrayList<>(), random = new ArrayList<>();
        boolean inBook = false, inRandom = false, inCell = false;
        for (String line : tour.split("\n")) {
            if (line.startsWith("=== ")) {
                inBook = line.startsWith("=== seed " + id + ":");
                inCell = false;
            } else if (line.startsWith("--- ")) {
                inCell = true;
                inRandom = line.contains("(random");
            } else if (inBook && inCell && !line.startsWith(">>> ") && !line.isEmpty()) {
                (inRandom ? random : fixed).add(line);
            }
        }
        return List.of(fixed, random);
    }

    public static final List<String> NOTEBOOKS = List.of("000", "001", "002", "003", "004");

    /** Asserts that a printed tour shows every notebook's deterministic outputs exactly as the seed files do. */
    public static int assertMatchesSeeds(String tour) throws IOException {
        int checked = 0;
        for (String id : NOTEBOOKS) {
            List<String> expected = seedOutputs(id).get(0).stream().map(SeedTourTest::normalizeError).toList();
            List<String> actual = parse(tour, id).get(0).stream().map(SeedTourTest::normalizeError).toList();
            assertFalse(expected.isEmpty(), "no outputs parsed from seed " + id);
            assertEquals(expected, actual, "seed " + id);
            checked += expected.size();
        }
        return checked;
    }

    /** Java's exception name stands where Python's stood; the message must be PyTorch's. */
    private static String normalizeError(String line) {
        return line.replaceFirst("^(RuntimeError|IllegalStateException): ", "ERROR: ");
    }

    /** Numbers and booleans left free: what is compared is the form of a random cell's output. */
    private static String form(String line) {
        return line.replaceAll("True|False", "B").replaceAll("-?\\d+(\\.\\d*)?(e[+-]\\d+)?", "#");
    }

    @Test
    void everyDeterministicCellPrintsWhatPyTorchPrinted() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        new SeedTour(0).run(new PrintStream(buf, true, StandardCharsets.UTF_8), Set.of(), Set.of());
        assertTrue(assertMatchesSeeds(buf.toString(StandardCharsets.UTF_8)) >= 45, "too few outputs compared");
    }

    @Test
    void randomCellsPrintTheSameFormWithTheirOwnValues() throws IOException {
        for (String id : NOTEBOOKS) {
            List<String> expected = seedOutputs(id).get(1).stream().map(SeedTourTest::form).toList();
            for (long seed : new long[] {0, 1, 7}) {
                List<String> actual = tourOutputs(id, seed, Set.of()).get(1).stream().map(SeedTourTest::form).toList();
                assertEquals(expected, actual, "seed notebook " + id + ", randn seed " + seed);
            }
        }
    }

    @Test
    void controlFlowGradientIsDOverA() {
        for (long seed = 0; seed < 200; seed++) {
            Tensor a = Tensor.randn(seed).requiresGrad_(true);
            Tensor d = SeedTour.f(a);
            d.backward();
            double ratio = d.div(a).item();
            assertEquals(ratio, a.grad().item(), Math.abs(ratio) * 1e-12, "randn seed " + seed);
            // The scale is 2^k, times 100 when the doubled value is not positive.
            double scale = a.grad().item() / (a.item() > 0 ? 1 : 100);
            assertEquals(0, Math.getExponent(scale) - Math.log(scale) / Math.log(2), 1e-9);
        }
    }

    @Test
    void aSectionRunsAloneWithTheNotebookStateBeforeIt() {
        List<String> detach = tourOutputs("004", 0, Set.of("detach")).get(0);
        assertEquals(List.of("tensor([0., 0., 0., 0.])", "tensor([0., 1., 4., 9.])", "tensor([True, True, True, True])",
                "tensor([0., 0., 0., 0.])", "tensor([0., 2., 4., 6.])", "tensor([True, True, True, True])"), detach);
        assertTrue(tourOutputs("004", 0, Set.of("detach")).get(1).isEmpty(), "control-flow cells must not show");
    }
}
