package dev.sparkautograd.nn;

import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Modules on local tensors: Linear's initialisation and forward, Sequential's naming, state dicts. */
class ModuleTest {

    @Test
    void linearInitialisationIsPytorchsKaimingUniform() {
        int in = 300, out = 200;
        Linear layer = new Linear(in, out, 42);
        // kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + a^2)), bound gain * sqrt(3 / fan_in); the bias: 1 / sqrt(fan_in)
        double a = Math.sqrt(5), weightBound = Math.sqrt(2 / (1 + a * a)) * Math.sqrt(3.0 / in), biasBound = 1 / Math.sqrt(in);
        assertEquals(List.of(out, in), List.of(layer.weight().shape()[0], layer.weight().shape()[1]));
        assertEquals(List.of(out), List.of(layer.bias().shape()[0]));
        checkUniform(layer.weight().toArray(), weightBound, "weight");
        checkUniform(layer.bias().toArray(), biasBound, "bias");
        assertTrue(layer.weight().requiresGrad() && layer.weight().isLeaf());
        assertTrue(new Linear(in, out, 42).weight().equal(layer.weight()), "same seed, same values");
        assertFalse(new Linear(in, out, 43).weight().equal(layer.weight()), "another seed, other values");
    }

    /** Within (-bound, bound), reaching near both ends, with the uniform's mean 0 and variance bound^2 / 3. */
    static void checkUniform(double[] v, double bound, String what) {
        double sum = 0, sq = 0, min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
        for (double x : v) {
            sum += x;
            sq += x * x;
            min = Math.min(min, x);
            max = Math.max(max, x);
        }
        int n = v.length;
        double mean = sum / n, var = sq / n - mean * mean, sd = bound / Math.sqrt(3);
        assertTrue(min >= -bound && max < bound, what + " outside the bound " + bound + ": " + min + " .. " + max);
        assertTrue(min < -0.95 * bound && max > 0.95 * bound, what + " does not fill the interval: " + min + " .. " + max);
        // 5 standard errors: the sample mean's sd / sqrt(n), the sample variance's sd ~ var * sqrt(0.8 / n) for a uniform
        assertEquals(0, mean, 5 * sd / Math.sqrt(n), what + " mean");
        assertEquals(sd * sd, var, 5 * sd * sd * Math.sqrt(0.8 / n) + 1e-300, what + " variance");
    }

    @Test
    void linearForwardIsXWTransposedPlusB() {
        Linear layer = new Linear(3, 2, 7);
        Tensor x = Tensor.fromArray(new double[] {1, 2, 3, -1, 0.5, 0}, 2, 3);
        Tensor y = layer.forward(x);
        double[] w = layer.weight().toArray(), b = layer.bias().toArray();
        for (int r = 0; r < 2; r++) {
            for (int o = 0; o < 2; o++) {
                double e = b[o];
                for (int i = 0; i < 3; i++) e += x.get(r, i) * w[o * 3 + i];
                assertEquals(e, y.get(r, o), 1e-15);
            }
        }
        assertEquals(List.of(2), List.of(layer.forward(Tensor.of(1, 2, 3)).shape()[0]));
        assertEquals(1, new Linear(3, 2, false, 7).parameters().size());
        assertEquals("Linear(3, 2): the input's last dimension must be 3, got shape [2, 4]",
                assertThrows(IllegalArgumentException.class, () -> layer.forward(Tensor.zeros(2, 4))).getMessage());
    }

    @Test
    void sequentialNamesItsParametersAsPytorch() {
        Sequential net = new Sequential(new Linear(4, 3, 1), new Tanh(), new Linear(3, 2, 2), new ReLU(), new Linear(2, 1, 3), new Sigmoid());
        assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"), List.copyOf(net.namedParameters().keySet()));
        assertSame(((Linear) net.get(2)).weight(), net.parameters().get(2));
        Tensor x = Tensor.randn(5, 6, 4);
        Tensor manual = ((Linear) net.get(4)).forward(((Linear) net.get(2)).forward(((Linear) net.get(0)).forward(x).tanh()).relu()).sigmoid();
        assertTrue(manual.equal(net.forward(x)));
        assertEquals("Sequential(\n  (0): Linear(in_features=4, out_features=3, bias=true)\n  (1): Tanh()\n  (2): Linear(in_features=3, out_features=2, bias=true)\n"
                + "  (3): ReLU()\n  (4): Linear(in_features=2, out_features=1, bias=true)\n  (5): Sigmoid()\n)", net.toString());
    }

    @Test
    void stateDictRoundTripsAndRejectsMismatches() {
        Sequential a = new Sequential(new Linear(4, 3, 1), new Tanh(), new Linear(3, 1, 2));
        Sequential b = new Sequential(new Linear(4, 3, 8), new Tanh(), new Linear(3, 1, 9));
        Map<String, Tensor> saved = a.stateDict();
        assertFalse(saved.get("0.weight") == a.parameters().get(0), "a state dict holds copies");
        b.loadStateDict(saved);
        Tensor x = Tensor.randn(3, 5, 4);
        assertTrue(a.forward(x).equal(b.forward(x)));
        assertTrue(b.parameters().get(0).isLeaf() && b.parameters().get(0).requiresGrad());

        Sequential c = new Sequential(new Linear(4, 2, 1), new Tanh(), new Linear(2, 1, 2));
        assertEquals("Error(s) in loading state_dict for Sequential: size mismatch for 0.weight: copying a param with shape [3, 4] from checkpoint, "
                        + "the shape in current model is [2, 4]; size mismatch for 0.bias: copying a param with shape [3] from checkpoint, the shape in "
                        + "current model is [2]; size mismatch for 2.weight: copying a param with shape [1, 3] from checkpoint, the shape in current model is [1, 2]",
                assertThrows(IllegalArgumentException.class, () -> c.loadStateDict(saved)).getMessage());
        Sequential d = new Sequential(new Linear(4, 3, false, 1), new Tanh(), new Linear(3, 1, 2));
        assertEquals("Error(s) in loading state_dict for Sequential: Unexpected key(s) in state_dict: [0.bias]",
                assertThrows(IllegalArgumentException.class, () -> d.loadStateDict(saved)).getMessage());
    }
}
