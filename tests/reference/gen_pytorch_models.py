"""Models a PyTorch user trains and saves for gradus, as docs/pytorch.md tells them to.

Trains two small nn.Sequential classifiers on Fashion-MNIST (one epoch of Adam, seeded)
and saves each state_dict with save_for_gradus below, the function docs/pytorch.md shows:
the safetensors format written by hand (Debian has no python3-safetensors), with
"gradus.spec" in the metadata and no "gradus.input_shape" (PyTorch does not know it):
  pytorch_mlp.safetensors  Linear(784, 16) ReLU Linear(16, 10): gradus takes the input
                           shape, 784, from the first linear's weight;
  pytorch_cnn.safetensors  Conv2d(1, 4, 5, stride=3) ReLU Flatten Linear(256, 10): the
                           weight fixes the channels only, so gradus takes 1 x 28 x 28
                           from the data (gd_model_load_as);
  pytorch.json             per model: the logits of the first 8 test images (float64
                           forward of the float32 weights, the exact answer) and the
                           accuracy on the 10000 test images (float32, as gradus runs).
tests/test_safetensors.c and tests/cli_test.sh load the files; CI has no torch, so the
outputs are checked in.
Usage: /usr/bin/python3 gen_pytorch_models.py OUTPUT_DIR
"""
import gzip
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"
GOLDEN_IMAGES = 8


# ---------------------------------------------------- what docs/pytorch.md shows

def save_for_gradus(model, spec, path):
    """Writes model's state_dict as safetensors with the gradus spec that rebuilds it."""
    header = {"__metadata__": {"gradus.spec": spec, "format": "pt"}}
    blobs, offset = [], 0
    for name, t in model.state_dict().items():
        a = t.detach().cpu().contiguous().numpy()
        dtype = {np.float32: "F32", np.int64: "I64"}[a.dtype.type]
        blob = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data start 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(b"".join(blobs))


# ------------------------------------------------------------- training, goldens

def read_idx(name):
    with gzip.open(f"{DATA}/{name}", "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def images(name):
    """Pixels / 255 in float32, N x 1 x 28 x 28, as gradus reads IDX images."""
    x = read_idx(name).astype(np.float32) / np.float32(255)
    return torch.from_numpy(x).unsqueeze(1)


def train(model, x, y, flat):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(x))
    model.train()
    for start in range(0, len(x), 100):
        batch = order[start:start + 100]
        inputs = x[batch].reshape(len(batch), -1) if flat else x[batch]
        opt.zero_grad()
        nn.functional.cross_entropy(model(inputs), y[batch]).backward()
        opt.step()
    model.eval()


def case(name, model, spec, x_test, y_test, flat):
    inputs = x_test.reshape(len(x_test), -1) if flat else x_test
    with torch.no_grad():
        accuracy = (model(inputs).argmax(1) == y_test).double().mean().item()
        logits = model.double()(inputs[:GOLDEN_IMAGES].double())
    model.float()
    return {"name": name, "spec": spec, "images": GOLDEN_IMAGES,
            "logits": {"shape": list(logits.shape), "data": logits.reshape(-1).tolist()},
            "test_accuracy": accuracy}


def main(out):
    torch.manual_seed(0)
    x_train, y_train = images("train-images-idx3-ubyte.gz"), torch.from_numpy(
        read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    x_test, y_test = images("t10k-images-idx3-ubyte.gz"), torch.from_numpy(
        read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    models = [
        ("pytorch_mlp", nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10)),
         "linear(16) relu linear(10)", True),
        ("pytorch_cnn", nn.Sequential(nn.Conv2d(1, 4, 5, stride=3), nn.ReLU(), nn.Flatten(),
                                      nn.Linear(4 * 8 * 8, 10)),
         "conv(4, 5, stride=3) relu flatten linear(10)", False),
    ]
    cases = []
    for name, model, spec, flat in models:
        train(model, x_train, y_train, flat)
        save_for_gradus(model, spec, f"{out}/{name}.safetensors")
        cases.append(case(name, model, spec, x_test, y_test, flat))
    with open(f"{out}/pytorch.json", "w") as f:
        json.dump({"cases": cases}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
