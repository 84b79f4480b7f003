package dev.sparkautograd.testing;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * One SparkSession per test JVM on {@code local[2]}, made on first use and never stopped between test
 * classes. Kryo with the library's registrator and {@code spark.kryo.registrationRequired=true} is set
 * here in code, so tests do not depend on conf/ existing. A test that needs another master stops this
 * session, runs its own, stops it, and the next {@link #spark()} makes a fresh shared one.
 */
public final class SharedSpark {
    private SharedSpark() {}

    private static SparkSession session;

    public static synchronized SparkSession spark() {
        if (session == null || session.sparkContext().isStopped()) {
            session = SparkSession.builder()
                    .master("local[2]")
                    .appName("spark-autograd-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                    .config("spark.kryo.registrator", "dev.sparkautograd.dist.AutogradKryoRegistrator")
                    .config("spark.kryo.registrationRequired", "true")
                    .config("spark.sql.shuffle.partitions", "4")
                    .getOrCreate();
        }
        return session;
    }

    public static JavaSparkContext jsc() {
        return JavaSparkContext.fromSparkContext(spark().sparkContext());
    }
}
