"""By-hand tests of gradus_torch.py (CI has no torch): run with Debian's python3-torch,

    /usr/bin/python3 python/test_gradus_torch.py [GRADUS]

Without torch it says so and exits 0. With GRADUS (a built gradus command; also $GRADUS)
the files save_for_gradus writes are also evaluated and predicted by gradus itself.

Tolerances: gradus computes in float32 and PyTorch here in float64 (the exact answer for
the same weights); predict prints probabilities to 6 significant digits, so they agree
within 1e-5 (measured: below 1e-6). Tensors read and written are compared bit for bit.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import torch
    from torch import nn
except ImportError:
    print("skipped: no torch for this python (run /usr/bin/python3 with python3-torch)")
    sys.exit(0)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gradus_torch as gt  # noqa: E402

FIXTURES = os.path.join(HERE, "fixtures")
PROB_ATOL = 1e-5
failures = []


def check(name, condition, detail=""):
    print(("ok      " if condition else "FAILED  ") + name + (f" ({detail})" if detail else ""))
    if not condition:
        failures.append(name)


def fixture_images():
    with open(os.path.join(FIXTURES, "predictions.json")) as f:
        p = json.load(f)
    raw = torch.tensor(list(bytes.fromhex(p["pixels"])), dtype=torch.float64)
    return (raw / 255).reshape(-1, 1, 28, 28), p["models"]


def torch_probs(model, transform, x):
    model.double().eval()
    transform.double()
    with torch.no_grad():
        return model(transform(x)).softmax(1)


def test_fixtures_agree_with_gradus():
    """The checked-in models gradus trained give gradus's probabilities in PyTorch."""
    x, models = fixture_images()
    for name, rows in models.items():
        model, transform, info = gt.load(os.path.join(FIXTURES, f"{name}.safetensors"))
        classes, want = gt.read_predictions("\n".join(rows))
        got = torch_probs(model, transform, x)
        err = (got - want).abs().max().item()
        check(f"{name} fixture ({info['metadata']['gradus.preprocess']}): probabilities "
              f"within {PROB_ATOL}", err <= PROB_ATOL, f"worst {err:.3g}")
        check(f"{name} fixture: the same classes", bool((got.argmax(1) == classes).all()))


ALL_LAYERS = ("conv(4, 3, stride=2, pad=1, bias=false) bn(eps=0.001, momentum=0.2) relu "
              "prelu(per_channel=true) residual(conv(4, 3, pad=1) leaky_relu(0.2)) "
              "residual(conv(8, 3, stride=2, pad=1) elu(0.5)) maxpool(2) avgpool(2, stride=1) "
              "conv(8, 1, dilation=2, groups=2) maxout(2) gap flatten linear(16) bn gelu "
              "residual(linear(8) silu) prelu softplus(2) tanh dropout(0.25) sigmoid "
              "linear(10)")


def test_spec_round_trip():
    """spec_of gives back the spec a model was built from, and the state_dict keys are
    the names docs/spec.md gives (a projection is "<block>.proj")."""
    seq = gt.build(ALL_LAYERS, (1, 20, 20))
    check("spec_of(build(spec)) is the spec", gt.spec_of(seq) == ALL_LAYERS, gt.spec_of(seq))
    keys = seq.state_dict().keys()
    check("a shape-changing block's projection is N.proj", "5.proj.weight" in keys)
    check("a block keeping the shape has none", not any(k.startswith("4.proj") for k in keys))
    check("bn's step count is kept", "1.num_batches_tracked" in keys)
    refused("a layer whose output would be empty is refused",
            lambda: gt.build(ALL_LAYERS, (1, 12, 12)), "avgpool maps samples of (8, 1, 1)")


def test_save_and_load_round_trip(tmp):
    seq = gt.build(ALL_LAYERS, (1, 20, 20))
    for p in seq.parameters():  # not the default initialisation, so a swap would show
        nn.init.normal_(p)
    path = os.path.join(tmp, "all.safetensors")
    gt.save_for_gradus(seq, path, (1, 20, 20))
    meta, tensors = gt.read_safetensors(path)
    check("save writes the spec and the input shape",
          meta["gradus.spec"] == ALL_LAYERS and meta["gradus.input_shape"] == "1,20,20")
    loaded, transform, _ = gt.load(path)
    same = all(torch.equal(a, b) for a, b in zip(seq.state_dict().values(),
                                                loaded.state_dict().values()))
    check("load gives back every tensor bit for bit", same)
    x = torch.rand(3, 1, 20, 20)
    seq.eval()
    with torch.no_grad():
        check("and the same outputs", torch.equal(seq(x), loaded(transform(x))))


def refused(name, fn, words):
    try:
        fn()
        check(name, False, "not refused")
    except ValueError as e:
        check(name, words in str(e), str(e))


def test_save_refuses_what_gradus_cannot_build(tmp):
    path = os.path.join(tmp, "bad.safetensors")
    refused("a module gradus has no layer for is named with its index",
            lambda: gt.save_for_gradus(nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)), path, (4,)),
            "layer 1: LayerNorm")
    refused("a rectangular kernel is refused",
            lambda: gt.save_for_gradus(nn.Sequential(nn.Conv2d(1, 2, (3, 5))), path, (1, 8, 8)),
            "square kernels only")
    refused("a spec that disagrees with the model names the tensor",
            lambda: gt.save_for_gradus(nn.Sequential(nn.Linear(4, 3)), path, (4,), "linear(5)"),
            "tensor 0.weight has shape (3, 4); the spec gives (5, 4)")
    refused("a wrong input shape names the tensor",
            lambda: gt.save_for_gradus(nn.Sequential(nn.Linear(4, 3)), path, (5,)),
            "tensor 0.weight")
    check("nothing is left behind", not os.path.exists(path))


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def test_gradus_reads_what_save_writes(gradus, tmp):
    """gradus eval and predict on files save_for_gradus wrote: a model made in PyTorch,
    and a gradus fixture loaded and saved again with its preprocessing."""
    x, _ = fixture_images()
    images = os.path.join(tmp, "images.idx")
    with open(images, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + len(x).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
        f.write(bytes((x * 255).round().to(torch.uint8).flatten().tolist()))
    seq = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.BatchNorm2d(4), nn.ReLU(),
                        gt.Residual(nn.Conv2d(4, 4, 3, padding=1), nn.GELU()),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.1), nn.Linear(144, 10))
    seq.train()
    with torch.no_grad():
        seq(torch.rand(16, 1, 28, 28))  # running statistics that are not the defaults
    model, transform, _ = gt.load(os.path.join(FIXTURES, "mlp.safetensors"))
    cases = [("a PyTorch model", seq, gt.Preprocess("none", (1, 28, 28), (1, 28, 28), {})),
             ("a reloaded gradus model with standardize", model, transform)]
    for name, m, t in cases:
        path = os.path.join(tmp, "saved.safetensors")
        shape = t.input_shape
        gt.save_for_gradus(m, path, shape, preprocess=t)
        ev = run([gradus, "eval", "--model", path])
        check(f"{name}: gradus eval --model reads it", ev.returncode == 0, ev.stderr.strip()[:200])
        pr = run([gradus, "predict", "--model", path, "--input", images, "--probs"])
        if pr.returncode != 0:
            check(f"{name}: gradus predict reads it", False, pr.stderr.strip()[:200])
            continue
        classes, got = gt.read_predictions(pr.stdout)
        err = (got - torch_probs(m, t, x)).abs().max().item()
        check(f"{name}: gradus predicts PyTorch's probabilities", err <= PROB_ATOL,
              f"worst {err:.3g}")


def main():
    gradus = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("GRADUS")
    test_fixtures_agree_with_gradus()
    test_spec_round_trip()
    with tempfile.TemporaryDirectory() as tmp:
        test_save_and_load_round_trip(tmp)
        test_save_refuses_what_gradus_cannot_build(tmp)
        if gradus:
            test_gradus_reads_what_save_writes(os.path.abspath(gradus), tmp)
        else:
            print("skipped: gradus eval/predict on saved files (give GRADUS)")
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
