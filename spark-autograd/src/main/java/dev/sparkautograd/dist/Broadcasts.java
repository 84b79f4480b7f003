package dev.sparkautograd.dist;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The library's broadcasts: made per step, destroyed (blocking) when the step is done. Keeps the ids
 * of those still alive and a count of those made, so tests can check nothing is left behind.
 */
public final class Broadcasts {
    private Broadcasts() {}

    private static final Set<Long> LIVE = ConcurrentHashMap.newKeySet();
    private static final Set<Long> MADE = ConcurrentHashMap.newKeySet();
    private static final AtomicLong COUNT = new AtomicLong();

    public static <T> Broadcast<T> make(JavaSparkContext sc, T value) {
        Broadcast<T> b = sc.broadcast(value);
        LIVE.add(b.id());
        MADE.add(b.id());
        COUNT.incrementAndGet();
        return b;
    }

    public static void destroy(Broadcast<?> b) {
        if (b == null) return;
        b.destroy(true);
        LIVE.remove(b.id());
    }

    /** Ids of library broadcasts not yet destroyed. */
    public static Set<Long> live() {
        return Set.copyOf(LIVE);
    }

    /** Ids of every broadcast the library made in this JVM. */
    public static Set<Long> made() {
        return Set.copyOf(MADE);
    }

    public static long count() {
        return COUNT.get();
    }
}
