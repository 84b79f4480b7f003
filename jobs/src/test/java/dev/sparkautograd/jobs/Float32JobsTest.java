package dev.sparkautograd.jobs;

import dev.sparkautograd.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --dtype float32}: the gradient job over float32 blocks gives float64's gradient up to the rounding of the features. */
class Float32JobsTest {

    @TempDir
    Path tmp;

    private double[] gradient(String model, String dtype) throws Exception {
        Path out = tmp.resolve(model + "-" + dtype + ".npy");
        UserDataTest.Run r = UserDataTest.main("gradient", "--model", model, "--generate", "1500", "--features", "6", "--partitions", "3",
                "--dtype", dtype, "--output", out.toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        return Npy.read(out).toArray();
    }

    @Test
    void theGradientJobOverFloat32BlocksAgreesWithFloat64ToTheRoundingOfTheFeatures() throws Exception {
        for (String model : new String[] {"logistic", "mlp"}) {
            double[] f64 = gradient(model, "float64"), f32 = gradient(model, "float32");
            double diff = BenchJob.relativeDifference(f32, f64);
            // standard normal features are not floats: the rounding shows (the option took effect), within its bound
            assertTrue(diff > 0 && diff <= BenchJob.FLOAT32_AGREEMENT, model + ": float32 differs from float64 by " + diff);
        }
        UserDataTest.Run bad = UserDataTest.main("gradient", "--generate", "10", "--dtype", "float16");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("--dtype") && bad.err().contains("float32"), bad.err());
    }

    /** train's cache is sized at 4 bytes per feature value under float32 (8 per label): the level's choice and the cache: line. */
    @Test
    void trainSizesItsCacheAtFourBytesPerFloat32Feature() throws Exception {
        for (String dtype : new String[] {"float64", "float32"}) {
            String out = DataJobsTest.run(new TrainJob(), "--generate", "40000", "--features", "5", "--partitions", "2", "--dtype", dtype,
                    "--max-steps", "1", "--output", tmp.resolve("train-" + dtype).toString());
            long bytes = 40000L * (5 * (dtype.equals("float32") ? 4 : 8) + 8);
            assertTrue(DataJobsTest.line(out, "cache:").startsWith(String.format("MEMORY_AND_DISK_SER (%.1f MB of blocks, ", bytes / 1e6)), out);
        }
    }
}
