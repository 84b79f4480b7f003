package dev.sparkautograd;

/** Bad input data (null cell, NaN/Inf, ragged array, wrong length): the message names the column and the row. */
public final class BadDataException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public BadDataException(String message) {
        super(message);
    }
}
