"""A PyTorch model saved as safetensors, for gradus to load (tests/test_safetensors.c).

Builds the nn.Sequential that gradus's spec "linear(16) bn relu linear(3)" gives on 8
inputs, gives it non-default weights and running statistics (a few training-mode forwards,
so num_batches_tracked is 3), switches to eval, and writes:
  torch_mlp.safetensors  its state_dict in safetensors, written by hand (Debian has no
                         python3-safetensors): u64 little-endian header length, JSON
                         header padded with spaces to 8 bytes, raw little-endian data, in
                         PyTorch's key order, with gradus's metadata;
  safetensors.json       a fixed input batch and the eval-mode output (float64 forward of
                         the float32 weights, so the golden is the exact answer).
Usage: /usr/bin/python3 gen_safetensors.py OUTPUT_DIR
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

SPEC = "linear(16) bn relu linear(3)"
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


def main(out):
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 1.5)
        model[1].bias.uniform_(-0.5, 0.5)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(12, 8) * 2 + 0.5)
    model.eval()
    x = torch.randn(5, 8)
    with torch.no_grad():
        y = model.double()(x.double())
    model.float()
    state = model.state_dict()
    assert int(state["1.num_batches_tracked"]) == 3
    write_safetensors(f"{out}/torch_mlp.safetensors", state,
                      {"gradus.spec": SPEC, "gradus.input_shape": "8",
                       "gradus.preprocess": "none", "format": "pt"})
    case = {"name": "torch_mlp", "spec": SPEC, "input": tensor(x), "output": tensor(y)}
    with open(f"{out}/safetensors.json", "w") as f:
        json.dump({"cases": [case]}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
