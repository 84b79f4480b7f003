package dev.sparkautograd;

/** A registered gradient hook; {@link #remove()} unregisters it (as PyTorch's RemovableHandle). */
@FunctionalInterface
public interface Hook {
    void remove();
}
