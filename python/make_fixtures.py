"""Remakes python/fixtures/: two small models gradus trained, and what gradus predicted
with them, for python/test_gradus_torch.py to compare PyTorch with where no gradus binary
or data set is at hand.

  mlp.safetensors   linear(8) bn relu residual(linear(8) relu) dropout(0.1) linear(10),
                    standardize (preprocess.mean and .std)
  cnn.safetensors   conv(4, 5, stride=2, pad=2, bias=false) prelu(per_channel=true)
                    avgpool(2, stride=1) conv(8, 3, dilation=2, groups=2) bn leaky_relu
                    maxout(2) maxpool(3, stride=2, pad=1) residual(conv(4, 3, pad=1)
                    gelu) gap flatten linear(10), center-channel
  predictions.json  {"pixels": the first 8 Fashion-MNIST test images as hex bytes,
                     "models": {name: gradus predict --probs's rows for them}}

Each model is one epoch on 2000 images (seed 1, 2 threads). Needs a built gradus and
Debian's dataset-fashion-mnist; the outputs are small (tens of KB) and checked in.
Usage: python3 python/make_fixtures.py build/release/gradus
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile

DATA = "/usr/share/datasets/fashion-mnist"
IMAGES = 8
MODELS = {
    "mlp": ("linear(8) bn relu residual(linear(8) relu) dropout(0.1) linear(10)", "standardize"),
    "cnn": ("conv(4, 5, stride=2, pad=2, bias=false) prelu(per_channel=true) "
            "avgpool(2, stride=1) conv(8, 3, dilation=2, groups=2) bn leaky_relu maxout(2) "
            "maxpool(3, stride=2, pad=1) residual(conv(4, 3, pad=1) gelu) gap flatten "
            "linear(10)", "center-channel"),
}


def first_images(folder):
    """The first IMAGES test images as an IDX file of their own, and their pixels."""
    with gzip.open(f"{DATA}/t10k-images-idx3-ubyte.gz", "rb") as f:
        raw = f.read()
    pixels = raw[16:16 + IMAGES * 784]
    path = os.path.join(folder, "images.idx")
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + IMAGES.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
        f.write(pixels)
    return path, pixels


def main(gradus):
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    with tempfile.TemporaryDirectory() as tmp:
        images, pixels = first_images(tmp)
        predictions = {"pixels": pixels.hex(), "models": {}}
        for name, (spec, pre) in MODELS.items():
            run = os.path.join(tmp, name)
            subprocess.run([gradus, "train", "--limit", "2000", "--val-size", "500", "--epochs",
                            "1", "--threads", "2", "--seed", "1", "--model", spec,
                            "--preprocess", pre, "--out", run], check=True,
                           stdout=subprocess.DEVNULL)
            os.replace(os.path.join(run, "model.safetensors"),
                       os.path.join(out, f"{name}.safetensors"))
            csv = subprocess.run([gradus, "predict", "--model", os.path.join(out, f"{name}.safetensors"),
                                  "--input", images, "--probs"], check=True,
                                 capture_output=True, text=True).stdout
            predictions["models"][name] = csv.splitlines()
    with open(os.path.join(out, "predictions.json"), "w") as f:
        json.dump(predictions, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
