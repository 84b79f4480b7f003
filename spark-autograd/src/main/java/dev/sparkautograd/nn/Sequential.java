package dev.sparkautograd.nn;

import dev.sparkautograd.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Modules applied in order, as {@code torch.nn.Sequential}; the children are named "0", "1", ... */
public final class Sequential extends Module {
    private static final long serialVersionUID = 1L;

    private final List<Module> layers = new ArrayList<>();

    public Sequential(Module... layers) {
        this(List.of(layers));
    }

    public Sequential(List<Module> layers) {
        if (layers.isEmpty()) throw new IllegalArgumentException("Sequential: no layers");
        for (Module m : layers) this.layers.add(registerModule(Integer.toString(this.layers.size()), m));
    }

    public int size() {
        return layers.size();
    }

    public Module get(int i) {
        return layers.get(i);
    }

    @Override
    public Tensor forward(Tensor x) {
        for (Module m : layers) x = m.forward(x);
        return x;
    }
}
