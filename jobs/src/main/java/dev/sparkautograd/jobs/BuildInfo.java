package dev.sparkautograd.jobs;

import picocli.CommandLine.IVersionProvider;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** What Maven wrote into {@code build.properties} (resource filtering): the project's version. */
public final class BuildInfo implements IVersionProvider {

    private static final Properties PROPS = load();

    /** The version of spark-autograd (library and jobs are released together). */
    public static String version() {
        return PROPS.getProperty("version", "unknown");
    }

    /** The Spark version the project was compiled against (the running one may differ). */
    public static String compiledSparkVersion() {
        return PROPS.getProperty("spark.version", "unknown");
    }

    @Override
    public String[] getVersion() {
        return new String[] {"spark-autograd " + version() + " (built for Spark " + compiledSparkVersion() + ")"};
    }

    private static Properties load() {
        Properties props = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("build.properties")) {
            if (in != null) props.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return props;
    }
}
