package dev.sparkautograd.jobs;

import dev.sparkautograd.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * train --batch-size on LIBSVM data read as CSR blocks: the mini-batches are gathered from sparse blocks
 * (Block.gather's CSR rows), reproducibly from --batch-seed, and agree with the same rows read dense (CSV).
 */
class SparseMiniBatchTrainTest {

    @TempDir
    Path tmp;

    private static final int ROWS = 600, FEATURES = 60;

    /** 600 rows of 60 features, 3 non-zeros each (5%: the library reads them sparse), labelled by a fixed linear rule. */
    private Path[] data() throws Exception {
        Random r = new Random(17);
        double[] teacher = new double[FEATURES];
        for (int j = 0; j < FEATURES; j++) teacher[j] = r.nextGaussian();
        StringBuilder svm = new StringBuilder(), csv = new StringBuilder();
        for (int j = 1; j <= FEATURES; j++) csv.append('f').append(j).append(',');
        csv.append("label\n");
        for (int i = 0; i < ROWS; i++) {
            double[] x = new double[FEATURES];
            for (int k = 0; k < 3; k++) x[r.nextInt(FEATURES)] = Math.round(r.nextGaussian() * 1000) / 250.0;
            double z = 0;
            for (int j = 0; j < FEATURES; j++) z += teacher[j] * x[j];
            int label = z > 0 ? 1 : 0;
            svm.append(label);
            for (int j = 0; j < FEATURES; j++) {
                if (x[j] != 0) svm.append(' ').append(j + 1).append(':').append(x[j]);
                csv.append(x[j]).append(',');
            }
            svm.append('\n');
            csv.append(label).append('\n');
        }
        Path s = tmp.resolve("sparse.svm"), c = tmp.resolve("sparse.csv");
        Files.writeString(s, svm.toString());
        Files.writeString(c, csv.toString());
        return new Path[] {s, c};
    }

    private UserDataTest.Run train(Path input, String format, String out) {
        UserDataTest.Run r = UserDataTest.main("train", "--input", input.toString(), "--format", format,
                "--optimizer", "adam", "--lr", "0.1", "--batch-size", "50", "--batch-seed", "5", "--max-steps", "36", "--tolerance", "0",
                "--output", tmp.resolve(out).toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        return r;
    }

    @Test
    void miniBatchesOfCsrBlocksTrainReproduciblyAndAsDenseOnes() throws Exception {
        Path[] files = data();
        DataOptions.Input in = UserDataTest.load("--input", files[0].toString(), "--format", "libsvm");
        assertTrue(in.x().isSparse(), "5% non-zero: CSR blocks");
        UserDataTest.Run a = train(files[0], "libsvm", "a"), b = train(files[0], "libsvm", "b");
        assertEquals("at most 50 rows, 12 steps per epoch (seed 5)", a.line("batches:"), a.out());
        double[] pa = Npy.read(tmp.resolve("a/params.npy")).toArray(), pb = Npy.read(tmp.resolve("b/params.npy")).toArray();
        assertArrayEquals(pa, pb, "the same --batch-seed, the same bits\n" + a.out() + b.out());
        assertEquals(Files.readAllLines(tmp.resolve("a/loss.csv")).stream().map(l -> l.split(",")[1]).toList(),
                Files.readAllLines(tmp.resolve("b/loss.csv")).stream().map(l -> l.split(",")[1]).toList());

        // the loss over the whole data (step 0, at zero weights: log 2) falls well below it; the batches' losses too
        List<String> loss = Files.readAllLines(tmp.resolve("a/loss.csv"));
        assertEquals(Math.log(2), Double.parseDouble(loss.get(1).split(",")[1]), 1e-12);
        double last = 0;
        for (String l : loss.subList(loss.size() - 12, loss.size())) last += Double.parseDouble(l.split(",")[1]) / 12; // the last 12 steps: an epoch's worth of batches
        assertTrue(last < 0.5 * Math.log(2), "mean batch loss of the last epoch " + last + "\n" + a.out());

        // the same rows read dense (CSV, one partition as the LIBSVM file): the same batches, the same fit up to the order of the sums
        UserDataTest.Run d = train(files[1], "csv", "dense");
        double[] pd = Npy.read(tmp.resolve("dense/params.npy")).toArray();
        assertEquals(pd.length, pa.length);
        for (int i = 0; i < pa.length; i++) assertEquals(pd[i], pa[i], 1e-9 * (1 + Math.abs(pd[i])), "parameter " + i + "\n" + a.out() + d.out());
    }
}
