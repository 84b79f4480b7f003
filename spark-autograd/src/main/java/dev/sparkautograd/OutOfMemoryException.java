package dev.sparkautograd;

/**
 * A task ran out of memory while reading data into row blocks: the message names the data, the partition, how
 * much had been read and what to change. Thrown in place of the {@link OutOfMemoryError}, which Spark's executor
 * treats as fatal (it exits with pages of stack traces); this one fails the task, and the job, as any error does.
 * It carries the error's stack trace but not the error itself (an executor also exits on a fatal cause).
 */
public final class OutOfMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public OutOfMemoryException(String message, OutOfMemoryError error) {
        super(message);
        setStackTrace(error.getStackTrace());
    }
}
