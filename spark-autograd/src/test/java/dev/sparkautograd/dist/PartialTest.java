package dev.sparkautograd.dist;

import org.junit.jupiter.api.Test;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A partial's wide gradient travels as (rows, values) when under a quarter of its rows are non-zero, and the
 * sums of such partials have exactly the bits of the dense partials' sums, signed zeros included.
 */
class PartialTest {

    /** A [rows, rowSize] gradient with {@code touched} random rows of values of magnitudes 2^-40 .. 2^40 (and some -0.0). */
    private static double[] touchedRows(Random r, int rows, int rowSize, int touched) {
        double[] a = new double[rows * rowSize];
        for (int t = 0; t < touched; t++) {
            int row = r.nextInt(rows);
            for (int e = 0; e < rowSize; e++) {
                a[row * rowSize + e] = r.nextInt(10) == 0 ? -0.0 : r.nextGaussian() * Math.scalb(1.0, r.nextInt(81) - 40);
            }
        }
        return a;
    }

    @Test
    void aSegmentUnderAQuarterFullTravelsAsRowsAndValues() {
        double[] value = {3.5};
        double[] narrow = new double[40];
        narrow[7] = 1;
        narrow[8] = -0.0;           // a -0.0 is a value: its row is kept
        double[] matrix = new double[100 * 3];
        matrix[5 * 3 + 2] = 2;      // one row of 100 touched
        double[] full = new double[8];
        java.util.Arrays.fill(full, 0, 2, 1.0); // 2 of 8 rows: a quarter, sent dense
        Partial p = Partial.encode(new double[][] {value, narrow, matrix, full}, new int[] {1, 1, 3, 1}, true);
        assertFalse(p.isSparse(0));
        assertTrue(p.isSparse(1));
        assertArrayEquals(new int[] {7, 8}, p.rows[1]);
        assertTrue(p.isSparse(2));
        assertArrayEquals(new int[] {5}, p.rows[2]);
        assertArrayEquals(new double[] {0, 0, 2}, p.values[2]);
        assertFalse(p.isSparse(3), "a quarter of the rows is not under a quarter");
        assertEquals(8 + (8 * 2 + 4 * 2) + (8 * 3 + 4) + 8 * 8, p.bytes());
        double[] flat = p.flatten();
        assertEquals(1 + 40 + 300 + 8, flat.length);
        assertEquals(Long.MIN_VALUE, Double.doubleToRawLongBits(flat[1 + 8]), "-0.0 survives the round trip");
        assertFalse(Partial.encode(new double[][] {narrow}, new int[] {1}, false).isSparse(0), "dense when sparse partials are off");
    }

    @Test
    void sparseAndDensePartialsSumToTheSameBits() {
        Random r = new Random(5);
        int sparseOnes = 0, denseOnes = 0;
        for (int trial = 0; trial < 40; trial++) {
            int rows = 50 + r.nextInt(200), rowSize = 1 + r.nextInt(3), count = 2 + r.nextInt(8);
            List<Tuple2<Integer, double[]>> dense = new ArrayList<>();
            List<Tuple2<Integer, Partial>> mixed = new ArrayList<>();
            for (int p = 0; p < count; p++) {
                // most partials touch few rows; now and then a dense one, which may leave a -0.0 in the sum
                double[] g = touchedRows(r, rows, rowSize, r.nextInt(4) == 0 ? rows : r.nextInt(rows / 5));
                dense.add(new Tuple2<>(p, g.clone()));
                Partial e = Partial.encode(new double[][] {{p}, g}, new int[] {1, rowSize}, true);
                if (e.isSparse(1)) sparseOnes++;
                else denseOnes++;
                mixed.add(new Tuple2<>(p, e));
            }
            java.util.Collections.shuffle(dense, r);
            java.util.Collections.shuffle(mixed, r);
            double[] expected = TreeReduce.sumSorted(dense, rows * rowSize);
            double[] sum = TreeReduce.sortedSum(mixed).flat();
            double[] grad = java.util.Arrays.copyOfRange(sum, 1, sum.length);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(Double.doubleToRawLongBits(expected[i]), Double.doubleToRawLongBits(grad[i]),
                        "trial " + trial + ", element " + i + ": " + expected[i] + " vs " + grad[i]);
            }
            // an intermediate level re-encodes its sum; the next level adds it with the same bits
            Partial level = TreeReduce.sortedSum(mixed).result(true);
            assertArrayEquals(sum, level.flatten(), 0.0);
        }
        assertTrue(sparseOnes > 100 && denseOnes > 20, "both kinds summed: " + sparseOnes + " sparse, " + denseOnes + " dense");
    }

    @Test
    void kryoSendsARowAsItsGapAndItsValue() {
        org.apache.spark.serializer.SerializerInstance kryo = dev.sparkautograd.testing.SharedSpark.session().sparkContext().env().serializer().newInstance();
        Random r = new Random(6);
        double[] g = new double[1 << 16];
        for (int i = 0; i < g.length; i += 1 + r.nextInt(12)) g[i] = r.nextGaussian();
        Partial p = Partial.encode(new double[][] {{1}, g}, new int[] {1, 1}, true);
        assertTrue(p.isSparse(1));
        scala.reflect.ClassTag<Partial> tag = scala.reflect.ClassTag$.MODULE$.apply(Partial.class);
        java.nio.ByteBuffer bytes = kryo.serialize(p, tag);
        int size = bytes.remaining();
        Partial back = kryo.deserialize(bytes, tag);
        assertArrayEquals(p.flatten(), back.flatten(), 0.0);
        int rows = p.rows[1].length;
        assertTrue(size <= 9 * rows + 64, size + " bytes for " + rows + " rows (gaps under 128: one byte each)");
    }

    @Test
    void aNegativeZeroLeftByADensePartialBecomesPositiveWhereALaterPartialIsAbsent() {
        double[] first = new double[8], second = new double[8];
        java.util.Arrays.fill(first, -0.0);           // dense: every row -0.0
        second[3] = -0.0;                             // one row, -0.0: -0.0 + -0.0 stays -0.0
        List<Tuple2<Integer, double[]>> dense = List.of(new Tuple2<>(0, first), new Tuple2<>(1, second));
        double[] expected = TreeReduce.sumSorted(new ArrayList<>(dense), 8);
        Partial a = Partial.encode(new double[][] {first}, new int[] {1}, true);
        Partial b = Partial.encode(new double[][] {second}, new int[] {1}, true);
        assertFalse(a.isSparse(0));
        assertTrue(b.isSparse(0));
        double[] sum = Partial.sum(List.of(a, b)).flat();
        for (int i = 0; i < 8; i++) assertEquals(Double.doubleToRawLongBits(expected[i]), Double.doubleToRawLongBits(sum[i]), "element " + i);
        assertEquals(Long.MIN_VALUE, Double.doubleToRawLongBits(sum[3]));
        assertEquals(0L, Double.doubleToRawLongBits(sum[0]));
    }
}
