"""Checks a gradus model file against PyTorch, through python/gradus_torch.py (the one
reader of model files on the Python side: what builds the nn.Sequential here is what a
user loads).

The file's model is loaded strictly (every key, every shape), run in eval mode in float64
and compared with what gradus computed in float32, in one of two ways:

  MODEL [IO.json]    IO.json is {"input": {"shape", "data"}, "output": {"shape", "data"}},
                     the model's input batch and gradus's output, as the C tests write
                     with GRADUS_KEEP_MODEL=FOLDER set (make test, then run this on
                     FOLDER/*.safetensors); default: MODEL with .json for .safetensors.
                     |torch - gradus| <= 1e-5 |torch| + 1e-6 max|torch|
  MODEL --predict GRADUS IMAGES [N]
                     a real run's model: runs `GRADUS predict --model MODEL --input
                     IMAGES --probs` (IDX images) and compares its probabilities for the first N
                     images (default 1000) with torch's softmax of the model applied to
                     the file's preprocessing of the same pixels. predict prints 6
                     significant digits, so |torch - gradus| <= 1e-5 (float32 logits
                     err by about 1e-6 of their scale; the printing by 5e-7).

Exit status 0 when every output agrees, 1 when one does not, 2 for a usage error.
Run with Debian's python3-torch: /usr/bin/python3 check_gradus_model.py ...; CI cannot.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import gradus_torch  # noqa: E402

import torch  # noqa: E402

RTOL, ATOL_OF_SCALE = 1e-5, 1e-6
PROB_ATOL = 1e-5


def tensor(obj):
    return torch.tensor(obj["data"], dtype=torch.float64).reshape(obj["shape"])


def describe(model_path, info):
    return (f"{model_path}: spec \"{info['spec']}\" on "
            f"{gradus_torch.shape_text(info['input_shape'])}")


def check_io(model_path, io_path):
    if not os.path.exists(io_path):
        sys.exit(f"{io_path}: no such file; a model without the C tests' IO.json is checked "
                 f"with --predict GRADUS IMAGES (see --help)")
    model, _, info = gradus_torch.load(model_path)
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
    print(f"{describe(model_path, info)}; worst error {err.max().item():.3g} "
          f"({err.max().item() / scale:.3g} of the scale {scale:.3g}), {rel:.3g} relative "
          f"above a tenth of it: {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def gradus_probs(gradus, model_path, images, n):
    """The classes and probabilities predict prints for the first n images."""
    out = subprocess.run([gradus, "predict", "--model", model_path, "--input", images, "--probs"],
                         check=True, capture_output=True, text=True).stdout
    classes, probs = gradus_torch.read_predictions(out)
    return classes[:n], probs[:n]


def check_predict(model_path, gradus, images, n):
    x = gradus_torch.read_idx_images(images, n).double()
    model, transform, info = gradus_torch.load(model_path, input_shape=tuple(x.shape[1:]))
    model.double().eval()
    transform.double()
    with torch.no_grad():
        want = model(transform(x)).softmax(1)
    classes, got = gradus_probs(gradus, model_path, images, n)
    assert got.shape == want.shape, f"gradus probabilities {tuple(got.shape)}, torch {tuple(want.shape)}"
    err = (got - want).abs()
    agree = (classes == want.argmax(1)).float().mean().item()
    ok = bool((err <= PROB_ATOL).all())
    print(f"{describe(model_path, info)}, preprocessing "
          f"{info['metadata'].get('gradus.preprocess', 'none')}; {len(x)} images: worst "
          f"probability error {err.max().item():.3g} (mean {err.mean().item():.3g}), classes "
          f"agree on {100 * agree:.2f}%: {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def main(argv):
    if len(argv) in (2, 3) and not argv[1].startswith("-"):
        model = argv[1]
        io = argv[2] if len(argv) == 3 else re.sub(r"\.safetensors$", "", model) + ".json"
        return check_io(model, io)
    if len(argv) in (5, 6) and argv[2] == "--predict":
        return check_predict(argv[1], argv[3], argv[4], int(argv[5]) if len(argv) == 6 else 1000)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
