#!/usr/bin/env python3
"""Golden values for gradus's BatchNorm1d/BatchNorm2d (tests/test_batchnorm.c).

Usage: /usr/bin/python3 gen_batchnorm.py OUTDIR   (writes OUTDIR/batchnorm.json)

Inputs are drawn in float32 (so the C side sees them exactly); PyTorch then computes in
float64, so the goldens carry no float32 rounding of their own and the C tolerance covers
only gradus's float32 arithmetic.
"""
import json
import os
import sys

import torch


def f32(t):
    return torch.as_tensor(t, dtype=torch.float32)


def tensor(t):
    t = t.detach().to(torch.float32)
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def batch(gen, shape, channel_mean, channel_std):
    """float32 input whose channel c has mean channel_mean[c] and spread channel_std[c]."""
    x = torch.randn(shape, generator=gen, dtype=torch.float32)
    view = [1, len(channel_mean)] + [1] * (len(shape) - 2)
    return f32(x * f32(channel_std).reshape(view) + f32(channel_mean).reshape(view))


def make_bn(cls, features, eps, momentum, gen):
    bn = cls(features, eps=eps, momentum=momentum).double()
    with torch.no_grad():
        bn.weight.copy_(f32(torch.rand(features, generator=gen) * 1.5 + 0.5))
        bn.bias.copy_(f32(torch.randn(features, generator=gen) * 0.5))
    return bn


def step(bn, x, dy):
    """One forward and backward; returns output, input grad and parameter grads."""
    bn.zero_grad()
    xd = x.double().requires_grad_()
    y = bn(xd)
    y.backward(dy.double())
    return y, xd.grad, bn.weight.grad.clone(), bn.bias.grad.clone()


def params(bn):
    return {"weight": tensor(bn.weight), "bias": tensor(bn.bias)}


def stats(bn, prefix=""):
    return {prefix + "running_mean": tensor(bn.running_mean),
            prefix + "running_var": tensor(bn.running_var),
            prefix + "num_batches_tracked": int(bn.num_batches_tracked)}


def train_case(name, cls, shape, eps, momentum, gen, means, stds):
    """One training step (forward, backward, running statistics after it)."""
    bn = make_bn(cls, shape[1], eps, momentum, gen)
    case = {"name": name, "eps": eps, "momentum": momentum, **params(bn)}
    x = batch(gen, shape, means, stds)
    dy = f32(torch.randn(shape, generator=gen))
    y, dx, dw, db = step(bn, x, dy)
    case.update(x=tensor(x), dy=tensor(dy), y=tensor(y), dx=tensor(dx),
                dweight=tensor(dw), dbias=tensor(db), **stats(bn))
    return case


def running_case(name, shape, eps, momentum, gen, means, stds):
    """Three training steps on different batches, then evaluation forward and backward."""
    bn = make_bn(torch.nn.BatchNorm1d, shape[1], eps, momentum, gen)
    case = {"name": name, "eps": eps, "momentum": momentum, **params(bn)}
    for k in range(3):
        x = batch(gen, shape, [m + 0.5 * k for m in means], stds)
        y = step(bn, x, f32(torch.randn(shape, generator=gen)))[0]
        case["x%d" % k] = tensor(x)
        case["y%d" % k] = tensor(y)
    case.update(stats(bn))
    bn.eval()
    x = batch(gen, shape, means, stds)
    dy = f32(torch.randn(shape, generator=gen))
    y, dx, dw, db = step(bn, x, dy)
    case.update(x_eval=tensor(x), dy_eval=tensor(dy), y_eval=tensor(y), dx_eval=tensor(dx),
                dweight_eval=tensor(dw), dbias_eval=tensor(db))
    return case


def main():
    out = sys.argv[1]
    gen = torch.Generator().manual_seed(20240611)
    cases = [
        # (N, C): features with offsets far from zero and unequal spreads.
        train_case("bn1d_train", torch.nn.BatchNorm1d, (8, 6), 1e-5, 0.1, gen,
                   [3.0, -1.0, 0.0, 10.0, 0.5, -4.0], [2.0, 0.5, 1.0, 3.0, 0.1, 1.0]),
        # (N, C, L): statistics per channel over N*L.
        train_case("bn1d_train_3d", torch.nn.BatchNorm1d, (4, 3, 5), 1e-5, 0.1, gen,
                   [1.0, -2.0, 0.5], [1.5, 0.5, 2.0]),
        # eps 1e-3 next to variances of ~1e-3 makes eps's place (inside the sqrt) visible.
        train_case("bn1d_momentum_eps", torch.nn.BatchNorm1d, (6, 4), 1e-3, 0.3, gen,
                   [0.2, -0.3, 1.0, 0.0], [0.03, 0.05, 1.0, 0.5]),
        running_case("bn1d_running", (5, 4), 1e-5, 0.1, gen,
                     [1.0, -0.5, 2.0, 0.0], [1.0, 2.0, 0.5, 1.5]),
        # BatchNorm2d (N, C, H, W) = (3, 2, 3, 3): statistics over N*H*W = 27 values.
        train_case("bn2d_train", torch.nn.BatchNorm2d, (3, 2, 3, 3), 1e-5, 0.1, gen,
                   [0.5, -1.5], [1.0, 2.5]),
    ]
    path = os.path.join(out, "batchnorm.json")
    with open(path, "w") as f:
        json.dump({"generator": "tests/reference/gen_batchnorm.py", "torch": torch.__version__,
                   "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
