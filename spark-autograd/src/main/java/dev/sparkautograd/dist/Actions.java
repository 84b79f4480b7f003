package dev.sparkautograd.dist;

import dev.sparkautograd.BadDataException;
import java.util.function.Supplier;

/**
 * Runs a Spark action (a collect, a count, a tree reduce), turning a task's bad-data failure back into a plain
 * IllegalArgumentException with the task's one-line message.
 */
final class Actions {
    private Actions() {}

    private static final String MARK = BadDataException.class.getName() + ": ";

    static <T> T run(Supplier<T> action) {
        try {
            return action.get();
        } catch (Exception e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof BadDataException) throw new IllegalArgumentException(c.getMessage(), e);
                String m = c.getMessage();
                int i = m == null ? -1 : m.indexOf(MARK);
                if (i >= 0) {
                    String msg = m.substring(i + MARK.length());
                    int nl = msg.indexOf('\n');
                    throw new IllegalArgumentException(nl >= 0 ? msg.substring(0, nl) : msg, e);
                }
            }
            throw Actions.<RuntimeException>sneaky(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static <E extends Exception> E sneaky(Exception e) throws E {
        throw (E) e;
    }
}
