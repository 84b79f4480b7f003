package dev.sparkautograd.jobs;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static dev.sparkautograd.jobs.StandaloneCluster.FAST_START;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cluster path for real: a standalone master and worker (separate JVMs started from the Maven
 * classpath on 127.0.0.1, see {@link StandaloneCluster}) and {@code bin/spark-autograd --master spark://...}
 * submitting the thin jar, whose classes (the Kryo registrator, the tensors) must then load on a real executor.
 */
class StandaloneSubmitIT {

    @Test
    void infoRunsOnAStandaloneClusterFromTheThinJar() throws Exception {
        try (StandaloneCluster cluster = StandaloneCluster.start(1, 2, "1g", null)) {
            Processes.Result r;
            try {
                r = LauncherIT.launcher(Duration.ofSeconds(150), e -> e.put("SPARK_AUTOGRAD_JAVA_OPTS", FAST_START),
                        "--master", cluster.master, "--conf", "spark.ui.enabled=false",
                        "--conf", "spark.executor.extraJavaOptions=" + FAST_START, "info");
            } catch (AssertionError timeout) {
                throw new AssertionError(timeout.getMessage() + cluster.logs(), timeout);
            }
            assertEquals(0, r.exit(), () -> r + cluster.logs());
            assertTrue(r.out().contains("Master:         " + cluster.master + " "), r::toString);
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith("Check:") && l.endsWith(": OK")), r::toString);
            // executors launched by a real worker: the project's defaults keep a native BLAS to one thread
            assertTrue(r.out().contains("Math (tasks):   BLAS "), r::toString);
            assertTrue(r.out().contains("OPENBLAS_NUM_THREADS=1"), r::toString);
            assertFalse(r.out().contains("Note:"), r::toString);

            // The executor ran on the worker, from the thin jar the driver served.
            try (Stream<Path> files = Files.walk(cluster.work)) {
                List<String> names = files.map(p -> p.getFileName().toString()).toList();
                assertTrue(names.contains("spark-autograd-jobs-" + BuildInfo.version() + "-thin.jar"), names::toString);
            }

            // --format libsvm: Spark's libsvm source and ML vectors on the executors (MLlib in the distribution's jars/)
            Path svm = cluster.tmp.resolve("d.svm"), params = cluster.tmp.resolve("p.npy"), grad = cluster.tmp.resolve("g.npy");
            Files.writeString(svm, "1 1:1.0 2:2.0\n0 1:-0.5\n1 1:3.0 2:-1.0\n");
            dev.sparkautograd.io.Npy.write(params, dev.sparkautograd.Tensor.of(0.3, -0.2, 0.1));
            Processes.Result g = LauncherIT.launcher(Duration.ofSeconds(150), e -> e.put("SPARK_AUTOGRAD_JAVA_OPTS", FAST_START),
                    "--master", cluster.master, "--conf", "spark.ui.enabled=false", "--conf", "spark.executor.extraJavaOptions=" + FAST_START,
                    "gradient", "--input", svm.toString(), "--format", "libsvm", "--params", params.toString(), "--output", grad.toString());
            assertEquals(0, g.exit(), () -> g + cluster.logs());
            dev.sparkautograd.Tensor x = dev.sparkautograd.Tensor.of(1, 2, -0.5, 0, 3, -1).reshape(3, 2), y = dev.sparkautograd.Tensor.of(1, 0, 1);
            dev.sparkautograd.Tensor w = dev.sparkautograd.Tensor.of(0.3, -0.2).requiresGrad_(true), b = dev.sparkautograd.Tensor.scalar(0.1).requiresGrad_(true);
            dev.sparkautograd.Tensor z = x.matmul(w).add(b);
            z.softplus().sub(y.mul(z)).mean().backward();
            dev.sparkautograd.Tensor expected = dev.sparkautograd.Tensor.cat(List.of(w.grad(), b.grad().reshape(1)), 0);
            assertTrue(dev.sparkautograd.io.Npy.read(grad).allclose(expected, 1e-12, 1e-14), g::toString);
        }
    }
}
