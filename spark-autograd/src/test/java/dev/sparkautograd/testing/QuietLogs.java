package dev.sparkautograd.testing;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.config.Configurator;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Silences loggers for the duration of a try-with-resources block, for tests that provoke a failure
 * on purpose (Spark logs an expected task failure with its whole stack trace).
 */
public final class QuietLogs implements AutoCloseable {

    private final Map<String, Level> previous = new LinkedHashMap<>();

    private QuietLogs(String... loggers) {
        for (String name : loggers) {
            previous.put(name, LogManager.getLogger(name).getLevel());
            Configurator.setLevel(name, Level.OFF);
        }
    }

    /** Turns the named loggers (and their children) off until {@link #close()}. */
    public static QuietLogs off(String... loggers) {
        return new QuietLogs(loggers);
    }

    @Override
    public void close() {
        previous.forEach(Configurator::setLevel);
    }
}
