"""Reference values for LossesTest, computed once with PyTorch 1.13 (float64, CPU): python3 losses_reference.py
prints each loss and its gradient with respect to the input (logits), large logits included."""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def show(name, loss, x):
    loss.backward()
    print("%s loss %r grad %s" % (name, loss.item(), ", ".join(repr(v) for v in x.grad.reshape(-1).tolist())))


z = torch.tensor([-1000.0, -30.0, -20.5, -1.0, 0.0, 0.5, 25.0, 40.0, 800.0], requires_grad=True)
y = torch.tensor([0.0, 1.0, 0.3, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0])
show("bce", F.binary_cross_entropy_with_logits(z, y), z)

logits = [[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0], [-50.0, 50.0, 0.0], [0.0, 0.0, 0.0]]
a = torch.tensor(logits, requires_grad=True)
show("ce_indices", F.cross_entropy(a, torch.tensor([0, 2, 1, 1])), a)
b = torch.tensor(logits, requires_grad=True)
probs = torch.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.1, 0.1, 0.8], [0.25, 0.25, 0.5]])
show("ce_probs", F.cross_entropy(b, probs), b)

u = torch.tensor([[0.5, -1.5], [2.0, 1e3]], requires_grad=True)
show("mse", F.mse_loss(u, torch.tensor([[0.25, 0.5], [-1.0, 999.0]])), u)
