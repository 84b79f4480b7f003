package dev.sparkautograd.testing;

import org.apache.spark.sql.SparkSession;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A {@code local-cluster[2,1,1024]} session: a master, two workers and two executor JVMs forked from the
 * test JVM's classpath, Kryo with registration required, loopback only. Blocks, closures, shuffles and
 * task results really cross process boundaries. The shared session ({@link SharedSpark}) is stopped
 * first (one SparkContext per JVM); {@link #close()} stops this one, and the next
 * {@link SharedSpark#session()} makes a fresh shared one.
 */
public final class LocalCluster implements AutoCloseable {
    private final Path home;
    private final SparkSession session;

    private LocalCluster(Path home, SparkSession session) {
        this.home = home;
        this.session = session;
    }

    public static LocalCluster start(String appName) throws IOException {
        SharedSpark.session().stop();
        // local-cluster looks for SPARK_HOME-like directories when spark.testing is set; empty ones will do.
        Path home = Files.createTempDirectory("spark-test-home");
        Files.createDirectories(home.resolve("jars"));
        Files.createDirectories(home.resolve("launcher/target/scala-2.13"));
        System.setProperty("spark.testing", "true");
        System.setProperty("spark.test.home", home.toString());
        SparkSession session = SparkSession.builder()
                .master("local-cluster[2,1,1024]")
                .appName(appName)
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.executor.memory", "512m")
                .config("spark.executorEnv.SPARK_SCALA_VERSION", "2.13")
                .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                .config("spark.kryo.registrator", "dev.sparkautograd.dist.AutogradKryoRegistrator")
                .config("spark.kryo.registrationRequired", "true")
                .getOrCreate();
        return new LocalCluster(home, session);
    }

    public SparkSession session() {
        return session;
    }

    @Override
    public void close() {
        session.stop();
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
        System.clearProperty("spark.testing");
        System.clearProperty("spark.test.home");
        for (File f : new File[] {home.resolve("launcher/target/scala-2.13").toFile(), home.resolve("launcher/target").toFile(),
                home.resolve("launcher").toFile(), home.resolve("jars").toFile(), home.toFile()}) {
            f.delete();
        }
    }
}
