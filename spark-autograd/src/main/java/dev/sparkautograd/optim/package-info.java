/**
 * Optimizers over parameter tensors, as {@code torch.optim}: {@link dev.sparkautograd.optim.SGD},
 * {@link dev.sparkautograd.optim.Adam}, {@link dev.sparkautograd.optim.AdamW} and
 * {@link dev.sparkautograd.optim.LBFGS}, each updating its parameters in place under no-grad with PyTorch's
 * update rules, with {@code zeroGrad()}, {@code step()} / {@code step(closure)} and a state dict to resume from.
 * A training loop reads as in PyTorch:
 * <pre>{@code
 * Module net = new Sequential(new Linear(10, 16, 1), new Tanh(), new Linear(16, 1, 2));
 * Optimizer opt = new Adam(net.parameters(), 1e-2);
 * for (int epoch = 0; epoch < 100; epoch++) {
 *     opt.zeroGrad();
 *     Tensor loss = Losses.binaryCrossEntropyWithLogits(net.forward(x), y);   // x, y local or DistTensors
 *     loss.backward();
 *     opt.step();
 * }
 * }</pre>
 * {@link dev.sparkautograd.optim.LBFGS} adds a strict-decrease backtracking line search ({@code "armijo"}) that
 * stops when no progress is left and says why ({@code stopReason()}); the jobs' {@code train} steps it one
 * iteration at a time. {@link dev.sparkautograd.optim.NewtonCG} is a trust-region Newton-CG over
 * Hessian-vector products.
 */
package dev.sparkautograd.optim;
