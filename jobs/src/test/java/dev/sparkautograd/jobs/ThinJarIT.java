package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What `package` leaves in jobs/target for spark-submit and the launcher. */
class ThinJarIT {

    private static final Path TARGET = SharedSpark.projectRoot().resolve("jobs/target");

    @Test
    void thinJarHoldsLibraryJobsAndPicocliButNoSparkNorScala() throws Exception {
        Path thin = TARGET.resolve("spark-autograd-jobs-" + BuildInfo.version() + "-thin.jar");
        assertTrue(Files.isRegularFile(thin), thin + " exists");
        try (JarFile jar = new JarFile(thin.toFile())) {
            Set<String> names = jar.stream().map(JarEntry::getName).collect(Collectors.toSet());
            assertEquals(List.of(), names.stream().filter(n -> n.startsWith("org/apache/spark/")).limit(5).toList(),
                    "no Spark classes");
            assertEquals(List.of(), names.stream().filter(n -> n.startsWith("scala/")).limit(5).toList(),
                    "no Scala library");
            assertEquals(List.of(), names.stream().filter(n -> n.startsWith("org/apache/hadoop/")).limit(5).toList(),
                    "no Hadoop");
            for (String expected : List.of("dev/sparkautograd/Tensor.class",
                    "dev/sparkautograd/dist/AutogradKryoRegistrator.class",
                    "dev/sparkautograd/jobs/Main.class", "dev/sparkautograd/jobs/InfoJob.class",
                    "dev/sparkautograd/jobs/build.properties", "picocli/CommandLine.class",
                    "org/jfree/chart/JFreeChart.class")) { // train's plot, drawn on the driver
                assertTrue(names.contains(expected), expected);
            }
            assertFalse(names.contains("dev/sparkautograd/testing/SharedSpark.class"), "no test classes");
            assertFalse(names.stream().anyMatch(n -> n.startsWith("org/junit/")), "no JUnit");
            assertEquals("dev.sparkautograd.jobs.Main", jar.getManifest().getMainAttributes().getValue("Main-Class"));
        }
    }

    @Test
    void launcherClasspathsHoldSparkAndOnlyTheLocalOneHoldsTheLibrary() throws Exception {
        List<String> full = Arrays.asList(Files.readString(TARGET.resolve("classpath.txt")).strip().split(":"));
        List<String> spark = Arrays.asList(Files.readString(TARGET.resolve("spark-classpath.txt")).strip().split(":"));
        for (List<String> cp : List.of(full, spark)) {
            assertTrue(cp.stream().anyMatch(p -> p.endsWith("/spark-core_2.13-4.2.0.jar")), "spark-core");
            assertTrue(cp.stream().anyMatch(p -> p.endsWith("/spark-sql_2.13-4.2.0.jar")), "spark-sql");
            assertTrue(cp.stream().anyMatch(p -> p.contains("/blas-")), "netlib BLAS");
            assertTrue(cp.stream().allMatch(p -> Files.exists(Path.of(p))), "every entry exists");
        }
        assertTrue(full.stream().anyMatch(p -> p.matches(".*/spark-autograd(-[0-9][^/]*)?\\.jar|.*/spark-autograd/target/classes")),
                "the library is on the local classpath: " + full);
        assertTrue(full.stream().anyMatch(p -> p.contains("/picocli-")), "picocli");
        assertFalse(spark.stream().anyMatch(p -> p.contains("spark-autograd") || p.contains("picocli")),
                "the Spark classpath is Spark alone (the thin jar brings the rest)");
    }

    @Test
    void jvmOptionsFileIsTheParentPomsSparkJavaOpts() throws Exception {
        // failsafe's argLine is "-Xmx3g -Xss4m ${spark.java.opts}": the same list must be in the file.
        List<String> file = Arrays.asList(Files.readString(TARGET.resolve("jvm-options.txt")).strip().split("\\s+"));
        List<String> thisJvm = ManagementFactory.getRuntimeMXBean().getInputArguments();
        assertTrue(file.contains("--add-opens=java.base/java.lang=ALL-UNNAMED"), file.toString());
        assertTrue(file.contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"), file.toString());
        assertTrue(thisJvm.containsAll(file), "file " + file + "\nthis JVM " + thisJvm);
        assertEquals(thisJvm.stream().filter(a -> a.startsWith("--add-opens")).toList(),
                file.stream().filter(a -> a.startsWith("--add-opens")).toList());
    }
}
