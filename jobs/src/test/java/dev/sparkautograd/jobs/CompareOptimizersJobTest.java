package dev.sparkautograd.jobs;

import dev.sparkautograd.jobs.models.CorrelatedFeatures;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.Synthetic;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

import static dev.sparkautograd.jobs.DataJobsTest.line;
import static dev.sparkautograd.jobs.DataJobsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The correlated-features generator (its covariance and condition number) and compare-optimizers on small data. */
class CompareOptimizersJobTest {

    @TempDir
    static Path tmp;

    /**
     * The stated eigenvalues (Sturm bisection on the tridiagonal inverse) against cyclic Jacobi rotations of the
     * covariance rho^|i-j| itself, a method that shares nothing with it.
     */
    @ParameterizedTest(name = "rho {0}, {1} features")
    @CsvSource({"0.998, 20", "0.999, 10", "0.9, 7", "-0.5, 5", "0.0, 3", "0.999, 2", "0.3, 1"})
    void theStatedEigenvaluesAreTheCovariancesOwn(double rho, int d) {
        double[] jacobi = jacobiEigenvalues(CorrelatedFeatures.covariance(rho, d));
        double[] stated = CorrelatedFeatures.eigenvalues(rho, d);
        for (int i = 0; i < d; i++) assertEquals(jacobi[i], stated[i], 1e-12 * jacobi[d - 1], "eigenvalue " + i);
        double cond = jacobi[d - 1] / jacobi[0];
        assertEquals(cond, CorrelatedFeatures.conditionNumber(rho, d), 1e-8 * cond);
    }

    /** The README's problem, 20 features at rho 0.998: condition number 1.96e4 (numpy.linalg.eigvalsh of rho^|i-j|: 19595.45). */
    @Test
    void theReadmeProblemIsIllConditioned() {
        assertEquals(19595.45, CorrelatedFeatures.conditionNumber(0.998, 20), 0.01);
    }

    /** Eigenvalues of a symmetric matrix, ascending, by cyclic Jacobi rotations (Golub and Van Loan 8.5). */
    private static double[] jacobiEigenvalues(double[][] matrix) {
        int n = matrix.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) a[i] = matrix[i].clone();
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
            if (off < 1e-300) break;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (a[p][q] == 0) continue;
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta == 0 ? 1 : theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++) { // A <- A J
                        double akp = a[k][p], akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) { // A <- J^T A
                        double apk = a[p][k], aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                }
            }
        }
        double[] e = new double[n];
        for (int i = 0; i < n; i++) e[i] = a[i][i];
        java.util.Arrays.sort(e);
        return e;
    }

    /** Generated rows: unit variances and neighbours correlated rho^|i-j| (sample covariance of 60,000 rows, 4 sigma). */
    @Test
    void generatedFeaturesHaveTheStatedCovariance() {
        double rho = 0.9;
        int d = 5, n = 60_000;
        Synthetic syn = new Synthetic(new Model(Model.Kind.logistic, d, 2, new int[0]), n, 2, 3).withCorrelation(rho);
        double[][] sum = new double[d][d];
        for (int p = 0; p < 2; p++) {
            for (Iterator<Row> it = syn.partition(p); it.hasNext(); ) {
                double[] x = (double[]) it.next().get(0);
                for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) sum[i][j] += x[i] * x[j];
            }
        }
        double[][] sigma = CorrelatedFeatures.covariance(rho, d);
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                // the sample second moment's standard deviation is sqrt((1 + sigma_ij^2) / n)
                double sd = Math.sqrt((1 + sigma[i][j] * sigma[i][j]) / n);
                assertEquals(sigma[i][j], sum[i][j] / n, 4 * sd, "covariance " + i + "," + j);
            }
        }
        // rho 0: the independent generator's rows
        Synthetic plain = new Synthetic(new Model(Model.Kind.logistic, d, 2, new int[0]), 10, 1, 3);
        Row a = plain.partition(0).next(), b = plain.withCorrelation(0).partition(0).next();
        org.junit.jupiter.api.Assertions.assertArrayEquals((double[]) a.get(0), (double[]) b.get(0));
        assertEquals(a.getDouble(1), b.getDouble(1));
    }

    @Test
    void generateWritesCorrelatedFeaturesAndStatesTheConditionNumber() throws Exception {
        String out = run(new GenerateJob(), "--rows", "100", "--features", "20", "--correlation", "0.998", "--partitions", "1",
                "--output", tmp.resolve("gen").toString());
        assertEquals(String.format("AR(1), correlation 0.998, covariance condition number %.4g", CorrelatedFeatures.conditionNumber(0.998, 20)),
                line(out, "features:"));
    }

    /**
     * On the ill-conditioned generator (10 features at rho 0.999: condition number 1.9e4) Newton-CG reaches
     * |grad| <= 1e-6 |grad_0| in fewer passes over the data than L-BFGS (counts of Spark jobs, checked by the job against
     * both optimizers' own counts); small data and 1e-6 rather than the README's 1e-8 to keep it to ~150 jobs.
     */
    @Test
    void newtonCgTakesFewerPassesThanLbfgsOnIllConditionedData() throws Exception {
        Path dir = tmp.resolve("compare");
        String out = run(new CompareOptimizersJob(), "--rows", "3000", "--features", "10", "--correlation", "0.999",
                "--partitions", "1", "--relative-tolerance", "1e-6", "--output", dir.toString());
        String[] lbfgs = line(out, "L-BFGS").split("\\s+"), newton = line(out, "Newton-CG").split("\\s+");
        assertEquals("yes", lbfgs[1], out);
        assertEquals("yes", newton[1], out);
        int lp = Integer.parseInt(lbfgs[0]), np = Integer.parseInt(newton[0]);
        assertTrue(np <= lp, "Newton-CG " + np + " passes, L-BFGS " + lp + "\n" + out);
        List<String> csv = Files.readAllLines(dir.resolve("compare.csv"));
        assertEquals("optimizer,passes,relative_grad_norm", csv.get(0));
        for (String name : List.of("L-BFGS", "Newton-CG")) {
            List<String> rows = csv.stream().filter(l -> l.startsWith(name + ",")).toList();
            String[] last = rows.get(rows.size() - 1).split(",");
            assertEquals(name.equals("L-BFGS") ? lp : np, Integer.parseInt(last[1]), name);
            assertTrue(Double.parseDouble(last[2]) <= 1e-6, rows.get(rows.size() - 1));
            assertEquals(name + ",1,1.0000000000000000", rows.get(0), "the first point costs one pass");
        }
        BufferedImage png = ImageIO.read(dir.resolve("compare.png").toFile());
        assertEquals(LossPlot.WIDTH, png.getWidth());
    }
}
