package dev.sparkautograd.ml;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.nn.Linear;
import dev.sparkautograd.nn.Module;

/**
 * A user's module for the tests: a linear skip connection plus a tanh hidden layer of 4, with the constructor
 * the estimators look for ({@code inputs, outputs, seed}). Public, as a user's class on the classpath would be.
 */
public class SkipNet extends Module {
    private static final long serialVersionUID = 1L;
    private final Linear hidden, out, skip;

    public SkipNet(int inputs, int outputs, long seed) {
        hidden = registerModule("hidden", new Linear(inputs, 4, seed));
        out = registerModule("out", new Linear(4, outputs, seed + 1));
        skip = registerModule("skip", new Linear(inputs, outputs, false, seed + 2));
    }

    @Override
    public Tensor forward(Tensor x) {
        return skip.forward(x).add(out.forward(hidden.forward(x).tanh()));
    }
}
