#!/usr/bin/env python3
"""Golden values for gradus's losses (tests/test_loss.c).

Usage: /usr/bin/python3 gen_loss.py OUTDIR   (writes OUTDIR/loss.json)

Inputs are drawn in float32 (so the C side sees them exactly); PyTorch then computes the
loss and, by autograd, its gradient in float64, so the goldens carry no float32 rounding
but the final one of the gradient tensors. Each case holds the input, the labels or
target, the scalar "loss" (float64, written in full) and the gradient of the mean loss.

The hinge loss is the lecture's (CS231n) sum over j != y of max(0, s_j - s_y + margin):
nn.MultiMarginLoss divides that sum by the number of classes C, so its value and
gradient are multiplied by C here.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F


def f32(t):
    return torch.as_tensor(t, dtype=torch.float32)


def tensor(t):
    t = t.detach().to(torch.float32)
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def with_grad(x, fn):
    """fn(x) in float64 and its gradient with respect to x."""
    xd = x.double().requires_grad_()
    loss = fn(xd)
    loss.backward()
    return float(loss), xd.grad


def labels(gen, n, c):
    return torch.randint(0, c, (n,), generator=gen)


def ce_case(name, x, y, eps):
    loss, grad = with_grad(x, lambda xd: F.cross_entropy(xd, y, label_smoothing=eps))
    return {"name": name, "label_smoothing": eps, "logits": tensor(x),
            "labels": y.tolist(), "loss": loss, "dlogits": tensor(grad)}


def hinge_case(name, x, y, margin):
    c = x.shape[1]
    crit = torch.nn.MultiMarginLoss(margin=margin)
    loss, grad = with_grad(x, lambda xd: crit(xd, y) * c)  # undo PyTorch's 1/C
    return {"name": name, "margin": margin, "scores": tensor(x), "labels": y.tolist(),
            "loss": loss, "dscores": tensor(grad)}


def mse_case(name, x, t):
    loss, grad = with_grad(x, lambda xd: F.mse_loss(xd, t.double()))
    return {"name": name, "pred": tensor(x), "target": tensor(t), "loss": loss,
            "dpred": tensor(grad)}


def extreme_logits(gen, n, c):
    """Logits of about +-1000 (a naive exp overflows); row 0 puts the label's logit at
    -1000 and every other at +1000, the worst case (loss about 2000)."""
    sign = torch.randint(0, 2, (n, c), generator=gen) * 2 - 1
    x = f32(sign * 1000 + torch.randn(n, c, generator=gen) * 0.5)
    y = labels(gen, n, c)
    x[0] = 1000
    x[0, y[0]] = -1000
    return x, y


def main(outdir):
    gen = torch.Generator().manual_seed(20240611)
    cases = []
    n, c = 8, 10
    x = f32(torch.randn(n, c, generator=gen) * 2)
    cases.append(ce_case("cross_entropy", x, labels(gen, n, c), 0.0))
    x = f32(torch.randn(n, c, generator=gen) * 2)
    cases.append(ce_case("cross_entropy_smoothing", x, labels(gen, n, c), 0.1))
    x = f32(torch.randn(n, c, generator=gen) * 2)
    cases.append(ce_case("cross_entropy_smoothing_1", x, labels(gen, n, c), 1.0))
    x, y = extreme_logits(gen, 6, 5)
    cases.append(ce_case("cross_entropy_extreme", x, y, 0.0))
    x, y = extreme_logits(gen, 6, 5)
    cases.append(ce_case("cross_entropy_extreme_smoothing", x, y, 0.1))

    x = f32(torch.randn(n, c, generator=gen))
    cases.append(hinge_case("hinge", x, labels(gen, n, c), 1.0))
    x = f32(torch.randn(n, c, generator=gen))
    cases.append(hinge_case("hinge_margin", x, labels(gen, n, c), 0.25))
    # Integer scores put terms exactly on their hinge (s_j - s_y + 1 == 0): PyTorch's
    # subgradient there is 0.
    x = f32([[2, 1, 0, 1], [0, 0, 0, 0], [3, 2, 2, 4], [1, 0, 2, 1]])
    cases.append(hinge_case("hinge_at_kink", x, torch.tensor([0, 1, 0, 2]), 1.0))

    x = f32(torch.randn(5, 3, generator=gen))
    cases.append(mse_case("mse", x, f32(torch.randn(5, 3, generator=gen))))
    x = f32(torch.randn(2, 3, 4, generator=gen))
    cases.append(mse_case("mse_3d", x, f32(torch.randn(2, 3, 4, generator=gen))))

    with open(os.path.join(outdir, "loss.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
