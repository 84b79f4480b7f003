package dev.sparkautograd.jobs;

import dev.sparkautograd.io.Npy;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.Synthetic;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's main command, smaller: train on generated data through bin/spark-autograd on local[*]. */
class TrainLauncherIT {

    @Test
    void trainThroughTheLauncherRecoversTheTeacher() throws Exception {
        Path tmp = Files.createTempDirectory("train-launcher-it");
        try {
            Path out = tmp.resolve("train-output");
            Processes.Result r = LauncherIT.launcher(Duration.ofSeconds(180), e -> {},
                    "train", "--generate", "200000", "--features", "10", "--output", out.toString());
            assertEquals(0, r.exit(), r::toString);
            String stdout = r.out();
            assertTrue(stdout.startsWith("model:     logistic regression, 10 features (11 parameters), lbfgs\n"), stdout);
            assertTrue(DataJobsTest.line(stdout, "stopped:").startsWith("gradient norm"), stdout);
            double accuracy = Double.parseDouble(DataJobsTest.line(stdout, "accuracy:"));
            double teacher = Double.parseDouble(DataJobsTest.line(stdout, "teacher:").split("\\s+")[1]);
            assertTrue(Math.abs(accuracy - teacher) < 0.005, stdout);

            // local[*] here has Spark's default parallelism as partitions: read it back from the output
            int parts = Integer.parseInt(DataJobsTest.line(stdout, "data:").split("\\s+")[3]);
            double[] t = new Synthetic(new Model(Model.Kind.logistic, 10, 2, new int[0]), 200000, parts, 1).teacher();
            double[] fit = Npy.read(out.resolve("params.npy")).toArray();
            double num = 0, den = 0;
            for (int i = 0; i < t.length; i++) {
                num += (fit[i] - t[i]) * (fit[i] - t[i]);
                den += t[i] * t[i];
            }
            assertTrue(Math.sqrt(num / den) < 0.03, "parameter error " + Math.sqrt(num / den) + "\n" + stdout);
            assertNotNull(ImageIO.read(out.resolve("loss.png").toFile()));
            assertTrue(DataJobsTest.line(stdout, "plot:").equals("file:" + out.resolve("loss.png")), stdout);
        } finally {
            try (Stream<Path> files = Files.walk(tmp)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }
}
