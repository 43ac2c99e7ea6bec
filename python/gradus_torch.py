"""gradus model files in PyTorch: load one as an nn.Sequential with its preprocessing,
and save an nn.Sequential for gradus. numpy and torch only; no build step.

    import gradus_torch as gt
    model, transform, info = gt.load("runs/x/model.safetensors")
    probs = model.double()(transform.double()(images.double())).softmax(1)
    gt.save_for_gradus(model, "mine.safetensors", input_shape=(784,))

A gradus model file is safetensors: an 8-byte little-endian header length, a JSON header
naming each tensor's dtype (F32 or I64), shape and byte range, then the raw
little-endian data. The tensors and "__metadata__" keys (all values are strings):

Tensors
  <layer>.<name>           the model's state_dict, as nn.Sequential names it: "0.weight",
                           "1.running_mean", "1.num_batches_tracked" (I64, a scalar),
                           "2.0.weight" inside a residual block, "2.proj.weight" for a
                           block's projection (docs/spec.md, Names)
  preprocess.mean          center, standardize, pca, whiten, zca: the training split's
                           per-feature mean, shaped as a raw sample (1 x 28 x 28); for
                           center-channel one value per channel
  preprocess.std           standardize: per-feature standard deviation, floored at eps
  preprocess.components    pca, whiten: K x d, one principal axis per row
  preprocess.scale         whiten: K values, 1 / sqrt(eigenvalue + eps)
  preprocess.zca           zca: the symmetric d x d whitening matrix
  optim.<state>            checkpoints only: the optimiser's state over the flat
                           parameters (in state_dict order): Adam/AdamW exp_avg,
                           exp_avg_sq (max_exp_avg_sq with amsgrad); SGD momentum_buffer;
                           Adagrad sum; RMSprop square_avg, momentum_buffer, grad_avg
  optim.step               checkpoints: optimiser steps taken (I64, 1 value)
  rng.state                checkpoints: the model's xoshiro256** generator (4 I64 words)

Metadata
  format                   "pt", as PyTorch's own safetensors files say
  gradus.version           the gradus that wrote the file ("0.1.0")
  gradus.spec              the layers (docs/spec.md): the one key gradus requires
  gradus.input_shape       the model's per-sample input, "784" or "1,28,28"; without
                           it gradus takes a first linear's in_features, else the data's
  gradus.preprocess        none, center, center-channel, standardize, pca:K, whiten,
                           whiten:K or zca
  gradus.preprocess_input_shape  the raw sample's shape the preprocessing was fitted on
                           (pca and whiten change it; present unless preprocess is none)
  gradus.optim             checkpoints: the optimiser ("Adam", "SGD", ...); its presence
                           is what makes a file a checkpoint
  gradus.epoch             checkpoints: the epochs completed
  gradus.run_state         checkpoints: the trainer's state as JSON (schema 1: best
                           epoch, bad epochs, samples, best metric, timings, the
                           per-epoch history of metrics.jsonl; src/train/run_files.c)

Preprocessing maps a raw sample x (IDX pixels / 255, flattened to d values) to
  center: x - mean     center-channel: x - mean[c] over channel c     standardize:
  (x - mean) / std     pca: C (x - mean)     whiten: scale * C (x - mean)     zca:
  Z (x - mean)
and the model reads the result with its own input shape (an MLP reads 1 x 28 x 28 images
as 784 values).
"""
import json
import math
import os
import re
import struct
import tempfile

import numpy as np
import torch
from torch import nn

DTYPES = {"F32": np.float32, "I64": np.int64}
EXTRA_PREFIXES = ("preprocess.", "optim.", "rng.state")


# ----------------------------------------------------------------- safetensors

def read_safetensors(path):
    """(metadata dict, {name: torch tensor}) of a safetensors file (F32 and I64 only)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: {len(raw)} bytes, too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: a header of {n} bytes in a file of {len(raw)}: "
                         "not a safetensors file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, e in header.items():
        if e["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {e['dtype']}; gradus reads "
                             "F32 and I64")
        begin, end = e["data_offsets"]
        a = np.frombuffer(data[begin:end], dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<"))
        tensors[name] = torch.from_numpy(a.astype(DTYPES[e["dtype"]]).reshape(e["shape"]))
    return meta, tensors


def write_safetensors(path, tensors, metadata):
    """Writes {name: tensor} (float tensors as F32, integer ones as I64) with the string
    metadata, to a temporary file renamed over path once complete."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = torch.as_tensor(t).detach().cpu().contiguous()
        a = (t.float() if t.is_floating_point() else t.long()).numpy()
        blob = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": "F32" if a.dtype == np.float32 else "I64",
                        "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data start 8-byte aligned
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".gradus_torch-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            f.write(b"".join(blobs))
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read_idx_images(path, count=None):
    """IDX images (plain or .gz) as gradus reads them: uint8 pixels / 255 in float32,
    N x 1 x H x W (float32 IDX files are kept as they are)."""
    import gzip
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    kind, ndim = raw[2], raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dtype = {0x08: np.uint8, 0x0D: np.dtype(">f4")}[kind]
    a = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).reshape(dims)
    a = a[:count] if count is not None else a
    x = a.astype(np.float32) / np.float32(255) if kind == 0x08 else a.astype(np.float32)
    return torch.from_numpy(x.reshape(len(x), 1, *dims[1:]) if ndim == 3 else x)


# ------------------------------------------------------------------ the spec

TOKEN = re.compile(r"\s+|#[^\n]*|(?P<num>[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)"
                   r"|(?P<name>[A-Za-z_]\w*)|(?P<punct>[(),=])")


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
    """layers := layer*; layer := NAME ['(' args ')']; residual's parentheses hold layers.
    gradus's own parser (src/spec/) checks the text; this one reads text gradus wrote."""

    def __init__(self, tokens):
        self.t, self.i = tokens, 0

    def peek(self, ahead=0):
        j = self.i + ahead
        return self.t[j] if j < len(self.t) else (None, None)

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
            if self.peek()[0] == "name" and self.peek(1)[0] == "=":
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
        if self.peek()[0] == "num":
            return self.take("num")
        name = self.take("name")
        if self.peek()[0] == "(":  # an initialiser call: irrelevant once weights are loaded
            self.args()
        return {"true": True, "false": False}.get(name, name)


# Positional parameters per layer with their defaults (docs/spec.md, src/spec/build.c).
SIGNATURES = {
    "linear": (["out", "bias"], {"bias": True}),
    "conv": (["out", "kernel", "stride", "pad", "dilation", "groups", "bias"],
             {"stride": 1, "pad": 0, "dilation": 1, "groups": 1, "bias": True}),
    "bn": (["eps", "momentum"], {"eps": 1e-5, "momentum": 0.1}),
    "leaky_relu": (["slope"], {"slope": 0.01}),
    "elu": (["alpha"], {"alpha": 1.0}),
    "softplus": (["beta"], {"beta": 1.0}),
    "prelu": (["per_channel", "slope_init"], {"per_channel": False, "slope_init": 0.25}),
    "maxout": (["k"], {}),
    "dropout": (["p"], {"p": 0.5}),
    "maxpool": (["kernel", "stride", "pad"], {"stride": None, "pad": 0}),
    "avgpool": (["kernel", "stride", "pad"], {"stride": None, "pad": 0}),
}
ALIASES = {"conv2d": "conv", "batchnorm": "bn", "global_avgpool": "gap", "out_features": "out",
           "out_channels": "out", "kernel_size": "kernel", "padding": "pad",
           "negative_slope": "slope"}
SIMPLE = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU,
          "silu": nn.SiLU}


def bind(name, args, kwargs):
    names, defaults = SIGNATURES.get(name, ([], {}))
    bound = dict(defaults)
    bound.update(zip(names, args))
    for k, v in kwargs.items():
        if name == "prelu" and k == "init":  # prelu's init is its first slope, a number
            bound["slope_init"] = v
        elif k not in ("init", "bias_init"):
            bound[ALIASES.get(k, k)] = v
    return bound


class Residual(nn.Module):
    """gradus's residual(...): block(x) + x, or block(x) + proj(x) when the block changes
    the shape; the block's layers are children "0", "1", ... and the projection "proj",
    so that the state_dict keys are gradus's ("2.0.weight", "2.proj.weight")."""

    def __init__(self, *layers, proj=None):
        super().__init__()
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)
        self.block_size = len(layers)
        if proj is not None:
            self.proj = proj

    def forward(self, x):
        shortcut = self.proj(x) if "proj" in self._modules else x
        for i in range(self.block_size):
            x = self._modules[str(i)](x)
        return x + shortcut


class Maxout(nn.Module):
    """The maximum over each group of k consecutive features (channels)."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        return x.view(x.shape[0], x.shape[1] // self.k, self.k, *x.shape[2:]).amax(2)

    def extra_repr(self):
        return f"k={self.k}"


def pooled(size, kernel, stride, pad, dilation=1):
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def projection(shape, out):
    """The shortcut gradus gives a block mapping shape to out (src/layers/residual.c): a
    bias-free Linear on flat samples, a bias-free 1x1 Conv2d with stride ceil(H / H')."""
    if len(shape) == 1 and len(out) == 1:
        return nn.Linear(shape[0], out[0], bias=False)
    if len(shape) != 3 or len(out) != 3:
        raise ValueError(f"spec: no projection maps {shape} to {out}")
    stride = -(-shape[1] // out[1])
    if any(pooled(a, 1, stride, 0) != b for a, b in zip(shape[1:], out[1:])):
        raise ValueError(f"spec: no 1x1 convolution maps {shape} to {out}")
    return nn.Conv2d(shape[0], out[0], 1, stride=stride, bias=False)


def layer_module(name, b, shape):
    """The module for one parsed layer on samples of shape, and its output shape."""
    if name in SIMPLE:
        return SIMPLE[name](), shape
    if name == "flatten":
        return nn.Flatten(), (math.prod(shape),)
    if name == "linear":
        if len(shape) != 1:
            raise ValueError(f"spec: linear needs flat samples, its input is {shape}")
        return nn.Linear(shape[0], int(b["out"]), bias=bool(b["bias"])), (int(b["out"]),)
    if name == "conv":
        k, s, p, d = int(b["kernel"]), int(b["stride"]), int(b["pad"]), int(b["dilation"])
        m = nn.Conv2d(shape[0], int(b["out"]), k, s, p, d, int(b["groups"]), bias=bool(b["bias"]))
        return m, (int(b["out"]),) + tuple(pooled(x, k, s, p, d) for x in shape[1:])
    if name == "bn":
        kind = nn.BatchNorm1d if len(shape) in (1, 2) else nn.BatchNorm2d
        return kind(shape[0], eps=b["eps"], momentum=b["momentum"]), shape
    if name == "leaky_relu":
        return nn.LeakyReLU(b["slope"]), shape
    if name == "elu":
        return nn.ELU(b["alpha"]), shape
    if name == "softplus":
        return nn.Softplus(b["beta"], threshold=20), shape
    if name == "prelu":
        return nn.PReLU(shape[0] if b["per_channel"] else 1, b["slope_init"]), shape
    if name == "maxout":
        return Maxout(int(b["k"])), (shape[0] // int(b["k"]),) + tuple(shape[1:])
    if name == "dropout":
        return nn.Dropout(b["p"]), shape
    if name in ("maxpool", "avgpool"):
        k, p = int(b["kernel"]), int(b["pad"])
        s = int(b["stride"]) if b["stride"] is not None else k
        m = nn.MaxPool2d(k, s, p) if name == "maxpool" else nn.AvgPool2d(k, s, p)
        return m, (shape[0],) + tuple(pooled(x, k, s, p) for x in shape[1:])
    if name == "gap":
        return nn.AdaptiveAvgPool2d(1), (shape[0], 1, 1)
    raise ValueError(f"spec: layer {name} has no PyTorch counterpart here")


def build_layers(layers, shape):
    """The modules for parsed layers on samples of shape, and the output shape."""
    mods = []
    for name, args, kwargs in layers:
        name = ALIASES.get(name, name)
        if name == "residual":
            block, out = build_layers(args, shape)
            mods.append(Residual(*block, proj=projection(shape, out) if out != shape else None))
            shape = out
        else:
            m, out = layer_module(name, bind(name, args, kwargs), shape)
            if min(out) < 1:
                raise ValueError(f"spec: {name} maps samples of {shape} to {out}")
            mods.append(m)
            shape = out
    return mods, shape


def build(spec, input_shape):
    """The nn.Sequential a gradus spec builds for samples of input_shape (a tuple), with
    PyTorch's default initialisation (a model file's tensors then replace it)."""
    mods, _ = build_layers(Parser(tokenize(spec)).layers(), tuple(int(v) for v in input_shape))
    return nn.Sequential(*mods)


def read_predictions(text):
    """(classes, probabilities) from `gradus predict --probs`'s CSV: a header row
    (id,label[,class],p_0,...,p_K) then one row per input, or, from a gradus before the
    header, rows of class,p_0,...,p_K."""
    lines = [line.split(",") for line in text.splitlines() if line]
    if lines and lines[0][0] == "id":
        head, lines = lines[0], lines[1:]
        label = head.index("label")
        cols = [i for i, name in enumerate(head) if name.startswith("p_")]
    else:
        label, cols = 0, list(range(1, len(lines[0]) if lines else 1))
    classes = torch.tensor([int(r[label]) for r in lines], dtype=torch.long)
    probs = torch.tensor([[float(r[i]) for i in cols] for r in lines], dtype=torch.float64)
    return classes, probs


# ---------------------------------------------------------------- preprocessing

class Preprocess(nn.Module):
    """A gradus preprocessing as a transform: raw samples (N x raw shape, or anything
    with N rows of d values) to the model's input (N x input_shape). Its statistics are
    buffers, so .double() moves them with the model."""

    def __init__(self, kind, raw_shape, input_shape, tensors):
        super().__init__()
        self.kind, self.raw_shape, self.input_shape = kind, tuple(raw_shape), tuple(input_shape)
        for name, t in tensors.items():
            self.register_buffer(name, t.clone())

    def forward(self, x):
        n = x.shape[0]
        x = x.reshape(n, -1)
        kind = self.kind.split(":")[0]
        if kind == "center":
            x = x - self.mean.reshape(1, -1)
        elif kind == "center-channel":
            c = self.raw_shape[0]
            x = (x.reshape(n, c, -1) - self.mean.reshape(1, c, 1)).reshape(n, -1)
        elif kind == "standardize":
            x = (x - self.mean.reshape(1, -1)) / self.std.reshape(1, -1)
        elif kind in ("pca", "whiten"):
            x = (x - self.mean.reshape(1, -1)) @ self.components.T
            if kind == "whiten":
                x = x * self.scale
        elif kind == "zca":
            x = (x - self.mean.reshape(1, -1)) @ self.zca.T
        elif kind != "none":
            raise ValueError(f"unknown preprocessing {self.kind}")
        return x.reshape(n, *self.input_shape)

    def extra_repr(self):
        return f"{self.kind}, raw {self.raw_shape} -> {self.input_shape}"

    def file_tensors(self):
        """Its tensors as a model file names them."""
        return {"preprocess." + k: v for k, v in self._buffers.items()}


def shape_of(text):
    return tuple(int(v) for v in text.split(","))


def shape_text(shape):
    return ",".join(str(int(v)) for v in shape)


# -------------------------------------------------------------------- loading

def input_shape_of(meta, tensors, spec, given):
    """As gradus decides it (src/io/model_file.c): the metadata's, else a first linear's
    in_features, else the caller's."""
    if "gradus.input_shape" in meta:
        return shape_of(meta["gradus.input_shape"])
    w = tensors.get("0.weight")
    first = Parser(tokenize(spec)).layers()[:1]
    if w is not None and w.ndim == 2 and first and first[0][0] == "linear":
        return (int(w.shape[1]),)
    if given is not None:
        return tuple(int(v) for v in given)
    raise ValueError("no gradus.input_shape in the file's metadata and no first linear to "
                     "take it from: pass input_shape=(1, 28, 28)")


def load(path, input_shape=None):
    """Loads a gradus model file (or checkpoint) as (model, transform, info): the
    nn.Sequential in eval mode with the file's tensors (strictly: every key, every
    shape), the Preprocess it was trained with (identity for none), and info with the
    metadata, the input shape and the tensors outside the model (optim.*, rng.state)."""
    meta, tensors = read_safetensors(path)
    if "gradus.spec" not in meta:
        raise ValueError(f"{path}: no gradus.spec in its metadata (not a gradus model file?)")
    spec = meta["gradus.spec"]
    shape = input_shape_of(meta, tensors, spec, input_shape)
    model = build(spec, shape)
    state = {k: v for k, v in tensors.items() if not k.startswith(EXTRA_PREFIXES)}
    model.load_state_dict(state, strict=True)
    model.eval()
    kind = meta.get("gradus.preprocess", "none")
    raw = shape_of(meta["gradus.preprocess_input_shape"]) if kind != "none" else shape
    pre = {k[len("preprocess."):]: v for k, v in tensors.items() if k.startswith("preprocess.")}
    transform = Preprocess(kind, raw, shape, pre)
    extra = {k: v for k, v in tensors.items() if k.startswith(("optim.", "rng.state"))}
    info = {"metadata": meta, "spec": spec, "input_shape": shape, "extra": extra}
    return model, transform, info


# --------------------------------------------------------------------- saving

def number(v):
    """A float as the spec reads it: 0.01, 1e-05, 2 (C's strtod takes each)."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def square(v, what, m):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if v[0] != v[1]:
        raise ValueError(f"{type(m).__name__}: gradus has square {what}s only, got {v}")
    return int(v[0])


def conv_spec(m):
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise ValueError("Conv2d: gradus pads with zeros by a number of pixels")
    k, s = square(m.kernel_size, "kernel", m), square(m.stride, "stride", m)
    p, d = square(m.padding, "padding", m), square(m.dilation, "dilation", m)
    opts = [f"stride={s}"] * (s != 1) + [f"pad={p}"] * (p != 0) + [f"dilation={d}"] * (d != 1)
    opts += [f"groups={m.groups}"] * (m.groups != 1) + ["bias=false"] * (m.bias is None)
    return "conv(" + ", ".join([str(m.out_channels), str(k)] + opts) + ")"


def pool_spec(name, m):
    if m.ceil_mode:
        raise ValueError(f"{type(m).__name__}: gradus pools with ceil_mode=False")
    if isinstance(m, nn.MaxPool2d) and square(m.dilation, "dilation", m) != 1:
        raise ValueError("MaxPool2d: gradus pools without dilation")
    if isinstance(m, nn.AvgPool2d) and (not m.count_include_pad or m.divisor_override):
        raise ValueError("AvgPool2d: gradus counts the padding zeros (count_include_pad=True)")
    k, s, p = square(m.kernel_size, "kernel", m), square(m.stride, "stride", m), \
        square(m.padding, "padding", m)
    opts = [f"stride={s}"] * (s != k) + [f"pad={p}"] * (p != 0)
    return f"{name}(" + ", ".join([str(k)] + opts) + ")"


def bn_spec(m):
    if not m.affine or not m.track_running_stats or m.momentum is None:
        raise ValueError(f"{type(m).__name__}: gradus's bn has a weight and bias and keeps "
                         "running statistics with a momentum")
    opts = [f"eps={number(m.eps)}"] * (m.eps != 1e-5) + \
        [f"momentum={number(m.momentum)}"] * (m.momentum != 0.1)
    return "bn" + (f"({', '.join(opts)})" if opts else "")


SUPPORTED = ("Linear, Conv2d, BatchNorm1d/2d, ReLU, Sigmoid, Tanh, GELU, SiLU, LeakyReLU, ELU, "
             "Softplus, PReLU, Dropout, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten, "
             "gradus_torch.Maxout and Residual")


def module_spec(m):
    """The spec text of one module (a Residual's holds its block's layers)."""
    simple = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.SiLU: "silu"}
    if type(m) in simple:
        return simple[type(m)]
    if isinstance(m, nn.GELU) and getattr(m, "approximate", "none") == "none":
        return "gelu"
    if isinstance(m, nn.Linear):
        return f"linear({m.out_features}" + (", bias=false" if m.bias is None else "") + ")"
    if isinstance(m, nn.Conv2d):
        return conv_spec(m)
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return bn_spec(m)
    if isinstance(m, nn.LeakyReLU):
        return f"leaky_relu({number(m.negative_slope)})"
    if isinstance(m, nn.ELU):
        return f"elu({number(m.alpha)})"
    if isinstance(m, nn.Softplus) and m.threshold == 20:
        return f"softplus({number(m.beta)})"
    if isinstance(m, nn.PReLU):
        return "prelu" if m.num_parameters == 1 else "prelu(per_channel=true)"
    if isinstance(m, nn.Dropout):
        return f"dropout({number(m.p)})"
    if isinstance(m, nn.MaxPool2d):
        return pool_spec("maxpool", m)
    if isinstance(m, nn.AvgPool2d):
        return pool_spec("avgpool", m)
    if isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1)):
        return "gap"
    if isinstance(m, nn.Flatten) and m.start_dim == 1 and m.end_dim == -1:
        return "flatten"
    if isinstance(m, Maxout):
        return f"maxout({m.k})"
    if isinstance(m, Residual):
        block = [m._modules[str(i)] for i in range(m.block_size)]
        return "residual(" + " ".join(module_spec(c) for c in block) + ")"
    raise ValueError(f"{m!r} has no gradus layer; gradus has {SUPPORTED}")


def spec_of(seq):
    """The gradus spec that builds the same layers as the nn.Sequential seq."""
    parts = []
    for i, m in enumerate(seq):
        try:
            parts.append(module_spec(m))
        except ValueError as e:
            raise ValueError(f"layer {i}: {e}") from None
    return " ".join(parts)


def save_for_gradus(seq, path, input_shape, spec=None, preprocess=None):
    """Writes the nn.Sequential seq as a gradus model file that `gradus eval --model PATH`
    and gd_model_load read: its state_dict (floats as F32), the spec (spec_of(seq) when
    not given), the input shape, and a Preprocess's statistics when given. The spec is
    built here first, and every tensor's name and shape must be what gradus will make of
    it, so a mismatch is caught now, naming the tensor, rather than when gradus loads."""
    spec = spec if spec is not None else spec_of(seq)
    input_shape = tuple(int(v) for v in input_shape)
    want = build(spec, input_shape).state_dict()
    have = seq.state_dict()
    for name in list(want) + [k for k in have if k not in want]:  # in state_dict order
        if name not in have or name not in want:
            where = "the spec" if name in want else "the model"
            raise ValueError(f"tensor {name} is only in {where} (spec: {spec})")
        if tuple(want[name].shape) != tuple(have[name].shape):
            raise ValueError(f"tensor {name} has shape {tuple(have[name].shape)}; the spec "
                             f"gives {tuple(want[name].shape)} (spec: {spec})")
    meta = {"format": "pt", "gradus.spec": spec, "gradus.input_shape": shape_text(input_shape),
            "gradus.preprocess": "none"}
    tensors = dict(have)
    if preprocess is not None and preprocess.kind != "none":
        meta["gradus.preprocess"] = preprocess.kind
        meta["gradus.preprocess_input_shape"] = shape_text(preprocess.raw_shape)
        tensors.update(preprocess.file_tensors())
    write_safetensors(path, tensors, meta)
