"""PyTorch models saved as safetensors, for gradus to load (tests/test_safetensors.c).

Builds the nn.Sequential that gradus's spec "linear(16) bn relu linear(3)" gives on 8
inputs, gives it non-default weights and running statistics (a few training-mode forwards,
so num_batches_tracked is 3), switches to eval, and writes:
  torch_mlp.safetensors  its state_dict in safetensors, written by hand (Debian has no
                         python3-safetensors): u64 little-endian header length, JSON
                         header padded with spaces to 8 bytes, raw little-endian data, in
                         PyTorch's key order, with gradus's metadata;
  safetensors.json       a fixed input batch and the eval-mode output (float64 forward of
                         the float32 weights, so the golden is the exact answer).
and likewise torch_cnn.safetensors for the convolutional spec CNN_SPEC on 1 x 8 x 8 inputs.
Usage: /usr/bin/python3 gen_safetensors.py OUTPUT_DIR
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

SPEC = "linear(16) bn relu linear(3)"
CNN_SPEC = "conv(4,3,pad=1) bn relu maxpool(2) conv(6,3,stride=2,groups=2) avgpool(1) flatten linear(5)"
DTYPES = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        a = t.detach().cpu().contiguous().numpy()
        blob = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def tensor(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def trained_eval(model, batches, shape):
    """Non-default batch-norm parameters and running statistics, then evaluation mode."""
    with torch.no_grad():
        for m in model:
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(12, *shape) * 2 + 0.5)
    model.eval()


def export(out, name, model, spec, shape):
    x = torch.randn(5, *shape)
    with torch.no_grad():
        y = model.double()(x.double())
    model.float()
    state = model.state_dict()
    write_safetensors(f"{out}/{name}.safetensors", state,
                      {"gradus.spec": spec, "gradus.input_shape": ",".join(map(str, shape)),
                       "gradus.preprocess": "none", "format": "pt"})
    return {"name": name, "spec": spec, "input": tensor(x), "output": tensor(y)}


def main(out):
    torch.manual_seed(7)
    mlp = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    trained_eval(mlp, 3, (8,))
    assert int(mlp.state_dict()["1.num_batches_tracked"]) == 3
    cases = [export(out, "torch_mlp", mlp, SPEC, (8,))]
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(4, 6, 3, stride=2, groups=2), nn.AvgPool2d(1), nn.Flatten(),
                        nn.Linear(6, 5))
    trained_eval(cnn, 2, (1, 8, 8))
    cases.append(export(out, "torch_cnn", cnn, CNN_SPEC, (1, 8, 8)))
    with open(f"{out}/safetensors.json", "w") as f:
        json.dump({"cases": cases}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
