#!/usr/bin/env python3
"""Golden values for gradus at 1, 2 and 3 threads (tests/test_threads.c).

Usage: /usr/bin/python3 gen_threads.py OUTDIR   (writes OUTDIR/threads.json)

The other goldens are small, so gradus runs them on one thread whatever the thread count:
these cases are just large enough that every OpenMP loop of the layers they use runs on a
team (more than GD_PARALLEL_MIN = 32768 elements) and the convolution splits its batch into
more chunks than 3 threads, so that each thread's share of a reduction (the convolution's
weight and bias gradients, batch norm's statistics) is part of the result.

- "conv": one Conv2d forward and backward on 6 samples of 4 x 12 x 12.
- "cnn": three SGD steps (momentum 0.9, lr 0.1) of a convolutional net with batch norm,
  ReLU, average and max pooling, a residual block with a projection, and a tanh head, on
  one batch of 18 samples of 3 x 16 x 16 with cross-entropy: the losses, the first step's
  logits and gradients, and the state after the third step.
- "mlp": the same for three Adam steps (lr 0.01) of linear, PReLU, GELU, sigmoid and
  maxout layers on 128 samples of 16 features.
Inputs and parameters are float32 values; PyTorch computes in float64, so the goldens carry
no rounding of their own.
"""
import copy
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_layers import Maxout  # noqa: E402
from gen_residual import Residual, uniform, with_params  # noqa: E402


def tensor(t):
    """Values to 9 significant digits: exact for float32 inputs (9 digits round-trip a
    float32), and 1e-9 relative for float64 results, far inside the tests' tolerances; the
    file is half as large as with every double's 17 digits."""
    t = t.detach().double()
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.reshape(-1).tolist()]}


def kinks_clear(model, x, margin):
    """No ReLU input within margin of 0, so that gradus's float32 takes PyTorch's branch."""
    seen = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
             for m in model.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return all(v.abs().min() > margin for v in seen)


def conv_case(gen):
    model = with_params(nn.Sequential(nn.Conv2d(4, 8, 3, padding=1)), gen).double()
    state = model.state_dict()
    x = uniform(gen, (6, 4, 12, 12), -2, 2)
    xd = x.double().requires_grad_()
    y = model(xd)
    dy = torch.randn(y.shape, generator=gen, dtype=torch.float32)
    y.backward(dy.double())
    return {"name": "conv", "names": list(state.keys()),
            "params": {k: tensor(v) for k, v in state.items()},
            "x": tensor(x), "y": tensor(y), "dy": tensor(dy), "dx": tensor(xd.grad),
            "grads": {k: tensor(p.grad) for k, p in model.named_parameters()}}


# No bias before a batch norm (directly, or through the residual sum and a linear map): its
# gradient is 0 in exact arithmetic and rounding noise in either program.
SPEC = ("conv(8, 3, pad=1, bias=false) bn relu avgpool(3, stride=1, pad=1) maxpool(2) "
        "residual(conv(8, 3, pad=1, bias=false) bn relu conv(16, 3, stride=2, pad=1, bias=false)) "
        "flatten linear(32, bias=false) bn tanh linear(10)")


def cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AvgPool2d(3, stride=1, padding=1), nn.MaxPool2d(2),
        Residual(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                 nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False),
                 proj=nn.Conv2d(8, 16, 1, stride=2, bias=False)),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 32, bias=False), nn.BatchNorm1d(32), nn.Tanh(), nn.Linear(32, 10))


def state_tensors(model):
    return {k: tensor(v) for k, v in model.state_dict().items() if v.is_floating_point()}


MLP_SPEC = "linear(260) prelu(per_channel=true) gelu sigmoid maxout(2) linear(10)"


def mlp():
    return nn.Sequential(nn.Linear(16, 260), nn.PReLU(260), nn.GELU(), nn.Sigmoid(), Maxout(2),
                         nn.Linear(130, 10))


def net_case(name, spec, make, x_shape, make_opt, gen):
    """Three steps of make()'s net on one batch of x_shape with cross-entropy."""
    while True:  # draws until no ReLU input of any step sits within 1e-5 of its kink
        model = with_params(make(), gen).double().train()
        names, params = list(model.state_dict().keys()), state_tensors(model)
        x = uniform(gen, x_shape, -2, 2)
        labels = torch.randint(0, 10, (x_shape[0],), generator=gen)
        opt = make_opt(model.parameters())
        losses, clear = [], True
        for step in range(3):
            # on a copy: a training forward moves BatchNorm's running statistics
            clear = clear and kinks_clear(copy.deepcopy(model), x.double(), 1e-5)
            opt.zero_grad()
            logits = model(x.double())
            loss = nn.functional.cross_entropy(logits, labels)
            loss.backward()
            if step == 0:
                y1 = logits
                grads1 = {k: tensor(p.grad) for k, p in model.named_parameters()}
            opt.step()
            losses.append(float(loss))
        if clear:
            break
    return {"name": name, "spec": spec, "names": names, "params": params, "x": tensor(x),
            "labels": labels.tolist(), "losses": losses, "y1": tensor(y1), "grads1": grads1,
            "params_after": state_tensors(model)}


def cnn_case(gen):
    case = net_case("cnn", SPEC, cnn, (18, 3, 16, 16),
                    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), gen)
    case.update(optimizer="sgd", lr=0.1, momentum=0.9)
    return case


def mlp_case(gen):
    """128 x 260 activations: the element-wise loops run on a team."""
    case = net_case("mlp", MLP_SPEC, mlp, (128, 16), lambda p: torch.optim.Adam(p, lr=0.01), gen)
    case.update(optimizer="adam", lr=0.01, momentum=0.0)
    return case


def main():
    out = sys.argv[1]
    gen = torch.Generator().manual_seed(20261202)
    cases = [conv_case(gen), cnn_case(gen), mlp_case(gen)]
    with open(os.path.join(out, "threads.json"), "w") as f:
        json.dump({"generator": "tests/reference/gen_threads.py", "torch": torch.__version__,
                   "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
