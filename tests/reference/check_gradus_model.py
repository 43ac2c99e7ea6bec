"""Checks a gradus model file against PyTorch.

Reads MODEL.safetensors by hand (u64 little-endian header length, JSON header, raw data),
builds the nn.Sequential its "gradus.spec" describes (linear, conv, bn, the activations,
prelu, maxout, dropout, maxpool, avgpool, gap, flatten, residual, with its projection when
the block changes the shape), loads the file's state_dict into it (strict: every key,
every shape), runs it in eval mode in float64 on the input batch of IO.json and compares
with the gradus output stored there:
  |torch - gradus| <= 1e-5 |torch| + 1e-6 max|torch|
(gradus computes in float32, so the float64 forward is the exact answer for its weights).

IO.json is {"input": {"shape", "data"}, "output": {"shape", "data"}}, as the C tests write
with GRADUS_KEEP_MODEL=FOLDER set (make test, then run this on FOLDER/*.safetensors).
Usage: /usr/bin/python3 check_gradus_model.py MODEL.safetensors [IO.json]
Exit status 0 when every output agrees. CI cannot run it (no torch there).
"""
import json
import math
import re
import struct
import sys

import numpy as np
import torch
from torch import nn

RTOL, ATOL_OF_SCALE = 1e-5, 1e-6
NP_DTYPES = {"F32": np.float32, "I64": np.int64}
EXTRA_PREFIXES = ("preprocess.", "optim.", "rng.state")


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        a = np.frombuffer(data[begin:end], dtype=np.dtype(NP_DTYPES[e["dtype"]]).newbyteorder("<"))
        tensors[name] = torch.from_numpy(a.reshape(e["shape"]).copy())
    return meta, tensors


# ------------------------------------------------------------------- the spec

TOKEN = re.compile(r"\s+|#[^\n]*|(?P<num>[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)|(?P<punct>[(),=])")


def tokenize(text):
    pos, out = 0, []
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"spec: unexpected {text[pos]!r} at {pos}")
        pos = m.end()
        if m.group("num"):
            out.append(("num", float(m.group("num"))))
        elif m.group("name"):
            out.append(("name", m.group("name")))
        elif m.group("punct"):
            out.append((m.group("punct"), None))
    return out


class Parser:
    """layers := layer*; layer := NAME ['(' args ')']; residual's parentheses hold layers."""

    def __init__(self, tokens):
        self.t, self.i = tokens, 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self, kind):
        tok = self.peek()
        if tok[0] != kind:
            raise ValueError(f"spec: expected {kind}, found {tok}")
        self.i += 1
        return tok[1]

    def layers(self, until=None):
        out = []
        while self.peek()[0] not in (until, None):
            name = self.take("name")
            if name == "residual":
                self.take("(")
                out.append((name, self.layers(")"), {}))
                self.take(")")
            else:
                args, kwargs = self.args() if self.peek()[0] == "(" else ([], {})
                out.append((name, args, kwargs))
        return out

    def args(self):
        self.take("(")
        args, kwargs = [], {}
        while self.peek()[0] != ")":
            if self.peek()[0] == "name" and self.t[self.i + 1][0] == "=":
                key = self.take("name")
                self.take("=")
                kwargs[key] = self.value()
            else:
                args.append(self.value())
            if self.peek()[0] == ",":
                self.take(",")
        self.take(")")
        return args, kwargs

    def value(self):
        kind, v = self.peek()
        if kind == "num":
            return self.take("num")
        name = self.take("name")
        if self.peek()[0] == "(":  # an initialiser call: irrelevant once weights are loaded
            self.args()
        return {"true": True, "false": False}.get(name, name)


# Positional parameter names per layer, with aliases and defaults (src/spec/build.c).
SIGNATURES = {
    "linear": (["out", "bias"], {"bias": True}),
    "conv": (["out", "kernel", "stride", "pad", "dilation", "groups", "bias"],
             {"stride": 1, "pad": 0, "dilation": 1, "groups": 1, "bias": True}),
    "bn": (["eps", "momentum"], {"eps": 1e-5, "momentum": 0.1}),
    "leaky_relu": (["slope"], {"slope": 0.01}),
    "elu": (["alpha"], {"alpha": 1.0}),
    "softplus": (["beta"], {"beta": 1.0}),
    "prelu": (["per_channel", "init"], {"per_channel": False, "init": 0.25}),
    "maxout": (["k"], {}),
    "dropout": (["p"], {"p": 0.5}),
    "maxpool": (["kernel", "stride", "pad"], {"stride": None, "pad": 0}),
    "avgpool": (["kernel", "stride", "pad"], {"stride": None, "pad": 0}),
}
ALIASES = {"conv2d": "conv", "batchnorm": "bn", "global_avgpool": "gap", "out_features": "out",
           "out_channels": "out", "kernel_size": "kernel", "padding": "pad",
           "negative_slope": "slope"}
SIMPLE = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU,
          "silu": nn.SiLU, "flatten": nn.Flatten}


def bind(name, args, kwargs):
    names, defaults = SIGNATURES.get(name, ([], {}))
    bound = dict(defaults)
    bound.update(zip(names, args))
    for k, v in kwargs.items():
        if k not in ("init", "bias_init"):
            bound[ALIASES.get(k, k)] = v
    return bound


class Residual(nn.Sequential):
    """gradus's residual(...): block(x) + proj(x), its layers named "i.0", "i.1", ... and
    proj, when the block changes the shape, "i.proj" (else the identity)."""

    def __init__(self, *layers, proj=None):
        super().__init__(*layers)
        self.block_size = len(layers)
        if proj is not None:
            self.proj = proj

    def forward(self, x):
        # nn.Sequential's own iteration would run proj too: only the numbered children chain.
        x_id = self.proj(x) if hasattr(self, "proj") else x
        for i in range(self.block_size):
            x = self[i](x)
        return x + x_id


def projection(shape, out):
    """The shortcut gradus gives a block mapping shape to out (src/layers/residual.c): a
    bias-free Linear on flat samples, a bias-free 1x1 Conv2d with stride ceil(H / H')."""
    if len(shape) == 1 and len(out) == 1:
        return nn.Linear(shape[0], out[0], bias=False)
    assert len(shape) == 3 and len(out) == 3, f"no projection maps {shape} to {out}"
    stride = -(-shape[1] // out[1])
    assert all(pooled(a, 1, stride, 0) == b for a, b in zip(shape[1:], out[1:])), \
        f"no 1x1 convolution maps {shape} to {out}"
    return nn.Conv2d(shape[0], out[0], 1, stride=stride, bias=False)


class Maxout(nn.Module):
    """The max over each group of k consecutive features."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        return x.view(x.shape[0], x.shape[1] // self.k, self.k, *x.shape[2:]).amax(2)


def pooled(size, kernel, stride, pad, dilation=1):
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def build(layers, shape):
    """The nn.Sequential for parsed layers on samples of shape; returns it and its output shape."""
    mods = []
    for name, args, kwargs in layers:
        name = ALIASES.get(name, name)
        if name == "residual":
            block, out = build(args, shape)
            mods.append(Residual(*block, proj=projection(shape, out) if out != shape else None))
            shape = out
            continue
        b = bind(name, args, kwargs)
        if name in SIMPLE:
            mods.append(SIMPLE[name]())
            shape = (math.prod(shape),) if name == "flatten" else shape
        elif name == "linear":
            mods.append(nn.Linear(shape[0], int(b["out"]), bias=bool(b["bias"])))
            shape = (int(b["out"]),)
        elif name == "conv":
            k, s, p, d = int(b["kernel"]), int(b["stride"]), int(b["pad"]), int(b["dilation"])
            mods.append(nn.Conv2d(shape[0], int(b["out"]), k, s, p, d, int(b["groups"]),
                                  bias=bool(b["bias"])))
            shape = (int(b["out"]),) + tuple(pooled(x, k, s, p, d) for x in shape[1:])
        elif name == "bn":
            kind = nn.BatchNorm1d if len(shape) == 1 else nn.BatchNorm2d
            mods.append(kind(shape[0], eps=b["eps"], momentum=b["momentum"]))
        elif name == "leaky_relu":
            mods.append(nn.LeakyReLU(b["slope"]))
        elif name == "elu":
            mods.append(nn.ELU(b["alpha"]))
        elif name == "softplus":
            mods.append(nn.Softplus(b["beta"]))
        elif name == "prelu":
            mods.append(nn.PReLU(shape[0] if b["per_channel"] else 1, b["init"]))
        elif name == "maxout":
            mods.append(Maxout(int(b["k"])))
            shape = (shape[0] // int(b["k"]),) + tuple(shape[1:])
        elif name == "dropout":
            mods.append(nn.Dropout(b["p"]))
        elif name in ("maxpool", "avgpool"):
            k, p = int(b["kernel"]), int(b["pad"])
            s = int(b["stride"]) if b["stride"] is not None else k
            mods.append(nn.MaxPool2d(k, s, p) if name == "maxpool" else nn.AvgPool2d(k, s, p))
            shape = (shape[0],) + tuple(pooled(x, k, s, p) for x in shape[1:])
        elif name == "gap":
            mods.append(nn.AdaptiveAvgPool2d(1))
            shape = (shape[0], 1, 1)
        else:
            raise ValueError(f"spec: layer {name} has no PyTorch counterpart here")
    return mods, shape


def tensor(obj):
    return torch.tensor(obj["data"], dtype=torch.float64).reshape(obj["shape"])


def main(model_path, io_path):
    meta, tensors = read_safetensors(model_path)
    spec = meta["gradus.spec"]
    shape = tuple(int(v) for v in meta["gradus.input_shape"].split(","))
    mods, _ = build(Parser(tokenize(spec)).layers(), shape)
    model = nn.Sequential(*mods)
    state = {k: v for k, v in tensors.items() if not k.startswith(EXTRA_PREFIXES)}
    model.load_state_dict(state, strict=True)
    model.double().eval()
    with open(io_path) as f:
        io = json.load(f)
    with torch.no_grad():
        want = model(tensor(io["input"]))
    got = tensor(io["output"])
    assert got.shape == want.shape, f"gradus output {tuple(got.shape)}, torch {tuple(want.shape)}"
    scale = want.abs().max().item()
    err = (got - want).abs()
    ok = bool((err <= RTOL * want.abs() + ATOL_OF_SCALE * scale).all())
    big = want.abs() > 0.1 * scale
    rel = (err[big] / want.abs()[big]).max().item() if big.any() else 0.0
    print(f"{model_path}: spec \"{spec}\" on {meta['gradus.input_shape']}, {len(state)} tensors; "
          f"worst error {err.max().item():.3g} ({err.max().item() / scale:.3g} of the scale "
          f"{scale:.3g}), {rel:.3g} relative above a tenth of it: {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    model = sys.argv[1]
    sys.exit(main(model, sys.argv[2] if len(sys.argv) == 3 else re.sub(r"\.safetensors$", "", model) + ".json"))
