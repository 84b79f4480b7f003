package dev.sparkautograd;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The README's "Autograd in 20 lines", line for line, with the values its comments claim. */
class ReadmeAutogradExampleTest {

    @Test
    void theReadmeExamplePrintsWhatItsCommentsSay() {
        Tensor x = Tensor.arange(4.0).requiresGrad_(true);
        assertEquals("tensor([0., 1., 2., 3.], requires_grad=True)", x.toString());
        Tensor y = x.dot(x).mul(2);
        assertEquals("tensor(28., grad_fn=<MulBackward0>)", y.toString());
        y.backward();
        assertEquals("tensor([ 0.,  4.,  8., 12.])", x.grad().toString());
        x.sum().backward();
        assertEquals("tensor([ 1.,  5.,  9., 13.])", x.grad().toString());
        x.grad().zero_();
        x.mul(x).backward(Tensor.ones(4));
        assertEquals("tensor([0., 2., 4., 6.])", x.grad().toString());
        Tensor u = x.mul(x).detach();
        x.grad().zero_();
        u.mul(x).sum().backward();
        assertEquals(u.toString(), x.grad().toString());
        try (Autograd.Scope s = Autograd.noGrad()) {
            x.sub_(x.grad().mul(0.1));
        }
        assertEquals("tensor([0.0000, 0.9000, 1.6000, 2.1000], requires_grad=True)", x.toString());
        Tensor a = Tensor.scalar(2).requiresGrad_(true);
        Tensor d1 = Autograd.gradWithGraph(a.pow(3), a), d2 = Autograd.gradWithGraph(d1, a);
        assertEquals("tensor(6.)", Autograd.grad(d2, a).toString());
    }
}
