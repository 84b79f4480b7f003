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
 * {@code AdamMinimizer}, {@code Lbfgs} and {@code Objective} work on a flat {@code double[]}: internal helpers
 * of the jobs until these move to the tensor optimizers.
 */
package dev.sparkautograd.optim;
