/**
 * Models as {@code torch.nn}: {@link dev.sparkautograd.nn.Module} (parameters plus a forward over a block of
 * rows written with Tensor ops, which also runs over a {@link dev.sparkautograd.DistTensor}, replayed per
 * block on the executors), {@link dev.sparkautograd.nn.Linear} (PyTorch's initialisation, seeded),
 * {@link dev.sparkautograd.nn.Sequential}, the activations {@link dev.sparkautograd.nn.Tanh},
 * {@link dev.sparkautograd.nn.ReLU}, {@link dev.sparkautograd.nn.Sigmoid}, and the loss functions of
 * {@link dev.sparkautograd.nn.Losses}.
 */
package dev.sparkautograd.nn;
