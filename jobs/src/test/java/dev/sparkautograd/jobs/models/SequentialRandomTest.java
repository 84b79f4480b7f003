package dev.sparkautograd.jobs.models;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.SplittableRandom;
import java.util.function.ToLongFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** SequentialRandom gives java.util.Random's values bit for bit, so generated data do not change with it. */
class SequentialRandomTest {

    @Test
    void drawsJavaUtilRandomsSequence() {
        // each draw kind, and the kinds interleaved as the generators interleave them (Gaussians, then labels)
        record Draw(String name, ToLongFunction<Random> draw) {}
        Draw[] draws = {
                new Draw("nextGaussian", r -> Double.doubleToRawLongBits(r.nextGaussian())),
                new Draw("nextDouble", r -> Double.doubleToRawLongBits(r.nextDouble())),
                new Draw("nextInt(1000)", r -> r.nextInt(1000)),
                new Draw("nextLong", Random::nextLong),
        };
        for (long seed : new long[]{0, 1, -7, 0x9E3779B97F4A7C15L + 48, Long.MIN_VALUE}) {
            Random expected = new Random(seed), actual = new SequentialRandom(seed);
            for (int i = 0; i < 200_000; i++) {
                Draw d = draws[i % 7 < 4 ? 0 : i % 4]; // mostly Gaussians (an odd count between the others: the cached second one)
                long e = d.draw.applyAsLong(expected), a = d.draw.applyAsLong(actual);
                if (e != a) assertEquals(e, a, d.name + " draw " + i + " of seed " + seed);
            }
        }
    }

    @Test
    void nextGaussiansFillsWhatNextGaussianWouldDraw() {
        // odd and even counts (the cached second value carried into the next call), batches over the candidate buffer,
        // and the other draws between the calls see the same generator state
        int[] counts = {0, 1, 2, 3, 7, 255, 256, 257, 511, 512, 513, 4096 * 5 + 1};
        for (long seed : new long[]{1, -7, 0x9E3779B97F4A7C15L + 48}) {
            Random expected = new Random(seed);
            SequentialRandom actual = new SequentialRandom(seed);
            for (int round = 0; round < 3; round++) {
                for (int n : counts) {
                    double[] x = new double[n + 2];
                    actual.nextGaussians(x, 1, n + 1);
                    for (int i = 1; i <= n; i++) {
                        long e = Double.doubleToRawLongBits(expected.nextGaussian());
                        if (e != Double.doubleToRawLongBits(x[i])) assertEquals(e, Double.doubleToRawLongBits(x[i]), "value " + i + " of " + n + ", seed " + seed);
                    }
                    assertEquals(0, Double.doubleToRawLongBits(x[0]) | Double.doubleToRawLongBits(x[n + 1]), "outside the range");
                    assertEquals(Double.doubleToRawLongBits(expected.nextDouble()), Double.doubleToRawLongBits(actual.nextDouble()), "draw after " + n);
                    if (round == 1) assertEquals(Double.doubleToRawLongBits(expected.nextGaussian()), Double.doubleToRawLongBits(actual.nextGaussian()));
                }
            }
        }
    }

    @Test
    void logHasStrictMathsBits() {
        double[] edges = {0, -0.0, -1, Double.MIN_VALUE, Double.MIN_NORMAL, Math.nextDown(Double.MIN_NORMAL), 0.5, 1, Math.nextUp(1.0),
                Math.nextDown(1.0), 1 + 0x1p-21, 2, Math.sqrt(2), Math.E, Double.MAX_VALUE, Double.POSITIVE_INFINITY,
                Double.NEGATIVE_INFINITY, Double.NaN};
        for (double x : edges) {
            assertEquals(Double.doubleToLongBits(StrictMath.log(x)), Double.doubleToLongBits(SequentialRandom.log(x)), "log(" + x + ")");
        }
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 1_000_000; i++) {
            double x = switch (i % 4) {
                case 0 -> r.nextDouble();                                          // the polar method's s in (0, 1)
                case 1 -> Double.longBitsToDouble(r.nextLong() & Long.MAX_VALUE); // any positive double, subnormals too
                case 2 -> 1 + (r.nextDouble() - 0.5) * 1e-5;                      // near 1: the |f| < 2^-20 branch
                default -> r.nextDouble() * 1e-310;                               // subnormal
            };
            long expected = Double.doubleToRawLongBits(StrictMath.log(x)), actual = Double.doubleToRawLongBits(SequentialRandom.log(x));
            if (expected != actual) assertEquals(StrictMath.log(x), SequentialRandom.log(x), "log(" + x + ")");
        }
    }
}
