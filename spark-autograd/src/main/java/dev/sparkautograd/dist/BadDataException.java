package dev.sparkautograd.dist;

/** Bad input data (null cell, NaN/Inf, ragged array, wrong length): the message names the column and the row. */
final class BadDataException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    BadDataException(String message) {
        super(message);
    }
}
