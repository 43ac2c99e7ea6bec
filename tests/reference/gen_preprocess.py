#!/usr/bin/env python3
"""Golden values for gradus's preprocessing (tests/test_preprocess.c).

Usage: /usr/bin/python3 gen_preprocess.py OUTDIR   (writes OUTDIR/preprocess.json)

The lecture's preprocessing in numpy: X -= mean; X /= std; cov = X.T @ X / N;
U, S = eigh(cov); Xrot = X @ U; Xwhite = Xrot / sqrt(S + eps); ZCA = Xwhite @ U.T.
Inputs are float32 (so the C side sees them exactly); everything else is computed in
float64 and rounded to float32 only when written (half an ulp). Eigenvectors are unique only up to sign:
like gradus, each component is flipped so that its entry of largest magnitude (the first
such) is positive.
"""
import json
import os
import sys

import numpy as np

EPS = 1e-2  # of the order of the smallest eigenvalue, so that where eps sits matters


def tensor(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(np.float32(v)) for v in a.reshape(-1)]}


def fix_signs(u):
    """Columns of u flipped so that each one's largest-magnitude entry is positive."""
    top = np.argmax(np.abs(u), axis=0)
    signs = np.where(u[top, np.arange(u.shape[1])] < 0, -1.0, 1.0)
    return u * signs


def correlated(rng, n, variances, mean):
    """float32 samples with covariance Q diag(variances) Q^T (Q a random rotation)."""
    d = len(variances)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    z = rng.standard_normal((n, d)) * np.sqrt(variances)
    return (z @ q.T + np.asarray(mean)).astype(np.float32)


def pca_case(x):
    xd = x.astype(np.float64)
    n = xd.shape[0]
    mean = xd.mean(axis=0)
    xc = xd - mean
    cov = xc.T @ xc / n
    s, u = np.linalg.eigh(cov)
    s, u = s[::-1], fix_signs(u[:, ::-1])  # decreasing eigenvalues
    rot = xc @ u
    white = rot / np.sqrt(s + EPS)
    zca = xc @ (u / np.sqrt(s + EPS)) @ u.T
    std = np.maximum(xd.std(axis=0), EPS)
    return {"name": "correlated_200x6", "eps": EPS, "x": tensor(x),
            "mean": tensor(mean), "std": tensor(std), "standardize": tensor(xc / std),
            "eigenvalues": tensor(s), "components": tensor(u.T),
            "pca3": tensor(rot[:, :3]), "whiten3": tensor(white[:, :3]),
            "whiten": tensor(white), "zca": tensor(zca)}


def constant_feature_case(rng):
    """standardize with a feature constant in the training set: its deviation is eps."""
    x = rng.standard_normal((50, 3)).astype(np.float32)
    x[:, 1] = np.float32(0.75)
    xd = x.astype(np.float64)
    std = np.maximum(xd.std(axis=0), EPS)
    return {"name": "constant_feature_50x3", "eps": EPS, "x": tensor(x),
            "std": tensor(std), "standardize": tensor((xd - xd.mean(axis=0)) / std)}


def channel_case(rng):
    """center-channel on 20 samples of 2 x 3 x 4: one mean per channel over N*H*W."""
    x = rng.standard_normal((20, 2, 3, 4)) + np.array([2.0, -1.0]).reshape(1, 2, 1, 1)
    x = x.astype(np.float32)
    xd = x.astype(np.float64)
    mean = xd.mean(axis=(0, 2, 3))
    return {"name": "channels_20x2x3x4", "x": tensor(x), "mean": tensor(mean),
            "center_channel": tensor(xd - mean.reshape(1, 2, 1, 1))}


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(20240612)
    x = correlated(rng, 200, [9.0, 4.0, 1.0, 0.25, 0.04, 0.01],
                   [3.0, -2.0, 1.0, 0.5, 4.0, -1.0])
    cases = [pca_case(x), constant_feature_case(rng), channel_case(rng)]
    path = os.path.join(out, "preprocess.json")
    with open(path, "w") as f:
        json.dump({"generator": "tests/reference/gen_preprocess.py", "numpy": np.__version__,
                   "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
