#!/usr/bin/env python3
"""Golden Sobol points for gradus's quasi-random sampler (src/search/sobol.c).

Usage: /usr/bin/python3 gen_search_sobol.py OUTDIR   (writes OUTDIR/search_sobol.json; torch 1.13)

torch.quasirandom.SobolEngine(32, scramble=False) in float64: its points are the Gray-code
ordered Sobol sequence with Joe and Kuo's direction numbers (new-joe-kuo-6.21201), each
coordinate a multiple of 2^-30 (torch keeps 30 bits). Each point is written as the
integers x * 2^30, which gradus's 32-bit coordinates give as bits >> 2. Case "first": the
points 0..127 (every direction number's first 7 bits, the initial m_j of every degree up
to 7); case "far": single points at indices up to 2^20, reached by fast_forward, which
exercise the recurrence's later direction numbers.
"""
import json
import os
import sys

import torch

DIMS = 32
FAR = [128, 129, 255, 256, 1000, 1023, 1024, 4097, 12345, 65535, 65536, 100000, 524287,
       524288, 777777, 1048575]


def bits(points):
    return [[int(round(v * 2**30)) for v in row] for row in points.tolist()]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    first = torch.quasirandom.SobolEngine(DIMS, scramble=False).draw(128, dtype=torch.float64)
    far = []
    for index in FAR:
        e = torch.quasirandom.SobolEngine(DIMS, scramble=False)
        e.fast_forward(index)
        far.append(bits(e.draw(1, dtype=torch.float64))[0])
    cases = [
        {"name": "first", "dims": DIMS, "indices": list(range(128)), "bits": bits(first)},
        {"name": "far", "dims": DIMS, "indices": FAR, "bits": far},
    ]
    with open(os.path.join(out, "search_sobol.json"), "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
