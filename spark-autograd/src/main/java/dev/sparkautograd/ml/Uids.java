package dev.sparkautograd.ml;

/**
 * Internal: a Spark ML stage's uid must be known while its Scala superclasses build their Params (in the
 * super constructor, which calls {@code uid()} before a Java subclass has set any field). The public
 * constructors stash the uid here while evaluating the arguments of {@code this(...)}, that is before the
 * super constructor runs; {@code uid()} reads it until the field is set.
 */
final class Uids {
    private static final ThreadLocal<String> PENDING = new ThreadLocal<>();

    private Uids() {}

    static String stash(String uid) {
        if (uid == null || uid.isEmpty()) throw new IllegalArgumentException("a Spark ML uid must be non-empty");
        PENDING.set(uid);
        return uid;
    }

    static String pending() {
        return PENDING.get();
    }

    static void done() {
        PENDING.remove();
    }
}
