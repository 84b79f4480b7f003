package dev.sparkautograd.nn;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The losses against PyTorch 1.13's {@code torch.nn.functional} (values and input gradients printed by
 * {@code src/test/python/losses_reference.py}), large logits included; their second derivatives by gradgradcheck.
 */
class LossesTest {

    static final double[] Z = {-1000.0, -30.0, -20.5, -1.0, 0.0, 0.5, 25.0, 40.0, 800.0};
    static final double[] Y = {0.0, 1.0, 0.3, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0};
    static final double[] LOGITS = {1000.0, 0.0, -1000.0, 1.0, 2.0, 3.0, -50.0, 50.0, 0.0, 0.0, 0.0, 0.0};
    static final double[] PROBS = {0.2, 0.3, 0.5, 1.0, 0.0, 0.0, 0.1, 0.1, 0.8, 0.25, 0.25, 0.5};

    record Case(String name, Tensor input, Tensor target, BiFunction<Tensor, Tensor, Tensor> loss, double value, double[] grad) {}

    static final List<Case> CASES = List.of(
            new Case("bce", Tensor.of(Z), Tensor.of(Y), Losses::binaryCrossEntropyWithLogits, 7.070053983724711,
                    new double[] {0.0, -0.11111111111110071, -0.03333333319442746, -0.08122873095888944, 0.05555555555555555,
                            -0.04194896319979394, 0.111111111109568, 0.0, 0.0}),
            new Case("ce_indices", Tensor.fromArray(LOGITS, 4, 3), Tensor.of(0, 2, 1, 1), Losses::crossEntropy, 0.37655456327812253,
                    new double[] {0.0, 0.0, 0.0, 0.02250764329259511, 0.06118211776369941, -0.08368976105629455, 9.30018994005209e-45,
                            0.0, 4.8218746199097946e-23, 0.08333333333333333, -0.16666666666666669, 0.08333333333333333}),
            new Case("ce_probs", Tensor.fromArray(LOGITS, 4, 3), Tensor.fromArray(PROBS, 4, 3), Losses::crossEntropy, 338.3765545632781,
                    new double[] {0.2, -0.075, -0.125, -0.2274923567074049, 0.06118211776369941, 0.16631023894370545, -0.025, 0.225,
                            -0.2, 0.02083333333333333, 0.02083333333333333, -0.04166666666666667}),
            new Case("mse", Tensor.fromArray(new double[] {0.5, -1.5, 2.0, 1e3}, 2, 2), Tensor.fromArray(new double[] {0.25, 0.5, -1.0, 999.0}, 2, 2),
                    Losses::mse, 3.515625, new double[] {0.125, -1.0, 1.5, 0.5}));

    @Test
    void valuesAndGradientsMatchPytorch() {
        for (Case c : CASES) {
            Tensor x = c.input().detach().clone().requiresGrad_(true);
            Tensor loss = c.loss().apply(x, c.target());
            assertEquals(c.value(), loss.item(), 1e-12 * Math.max(1, Math.abs(c.value())), c.name() + " loss");
            loss.backward();
            double[] g = x.grad().toArray();
            for (int i = 0; i < g.length; i++) assertEquals(c.grad()[i], g[i], 1e-15, c.name() + " grad[" + i + "]");
        }
    }

    @Test
    void bceIsExactWhereSoftplusIsCutOff() {
        // softplus is linear above 20 (PyTorch's threshold), so softplus(z) - z would be 0 here; the loss is
        // log1p(e^-z) ~ 2e-9, to within the rounding of z + log1p(e^-z) - z (an ulp of 20, 3.6e-15)
        double z = 20.0001;
        Tensor loss = Losses.binaryCrossEntropyWithLogits(Tensor.of(z), Tensor.of(1));
        assertEquals(Math.log1p(Math.exp(-z)), loss.item(), 4e-15);
        assertEquals(0.0, Tensor.of(z).softplus().sub(z).item());
    }

    @Test
    void secondDerivativesAreRight() {
        Tensor y = Tensor.of(0, 1, 0.3, 1);
        assertTrue(Autograd.gradgradcheck(in -> Losses.binaryCrossEntropyWithLogits(in.get(0), y), List.of(Tensor.of(-3, 0.5, 2, -0.25).requiresGrad_(true))));
        Tensor classes = Tensor.of(2, 0);
        assertTrue(Autograd.gradgradcheck(in -> Losses.crossEntropy(in.get(0), classes),
                List.of(Tensor.fromArray(new double[] {0.1, -0.4, 0.9, 1.2, 0.3, -0.7}, 2, 3).requiresGrad_(true))));
    }

    @Test
    void badTargetsAreNamed() {
        Tensor logits = Tensor.zeros(3, 2);
        assertEquals("class index 2.0 at row 1 is not one of 0..1",
                assertThrows(IllegalArgumentException.class, () -> Losses.crossEntropy(logits, Tensor.of(0, 2, 1))).getMessage());
        assertEquals("class index 0.5 at row 0 is not one of 0..1",
                assertThrows(IllegalArgumentException.class, () -> Losses.crossEntropy(logits, Tensor.of(0.5, 1, 1))).getMessage());
        assertEquals("crossEntropy: the target must be class indices [3] or class probabilities [3, 2], got shape [2]",
                assertThrows(IllegalArgumentException.class, () -> Losses.crossEntropy(logits, Tensor.of(0, 1))).getMessage());
        assertEquals("binaryCrossEntropyWithLogits: the target's shape [3] must be the input's shape [3, 1]",
                assertThrows(IllegalArgumentException.class, () -> Losses.binaryCrossEntropyWithLogits(Tensor.zeros(3, 1), Tensor.zeros(3))).getMessage());
        assertEquals("mse: the target's shape [2] must be the input's shape [3]",
                assertThrows(IllegalArgumentException.class, () -> Losses.mse(Tensor.zeros(3), Tensor.zeros(2))).getMessage());
    }
}
