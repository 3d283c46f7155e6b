"""Relaxation-gradient time, FFT products against GEMM, on structured instances (one thread).

The gradient A P B^T + A^T P B of the relaxation at a random dense P (what every FAQ / Nesterov
iteration computes), timed inside C++ (mezan._core._testing.time_gradient), GEMM and FFT
repeats interleaved so that machine noise hits both alike; medians reported, with the largest
relative difference between the two gradients, and which products the fft mode's automatic policy
picks at that size ("fft", "mixed" or "gemm").

Instances (n = rows x cols: 128 = 8x16, 256 = 16x16, 512 = 16x32, 1024 = 32x32):
  circulant       symmetric circulant flows (random kernel) x ring distances min(|i-j|, n-|i-j|)
  grid            Manhattan distances of a cols x rows lattice x those of a rows x cols lattice
  grid_euclidean  the same with Euclidean distances (2-D FFT; no separable shortcut)
  toeplitz        symmetric Toeplitz flows (random kernel) x |i - j| line distances
  dense x grid    uniform random symmetric flows x Manhattan grid distances (nug/sko-like: only
                  one side can use FFT, so at most ~2x)

    python bench/fft_products.py [--sizes 128 256 512 1024] [--repeats 9]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np

from mezan import _core

SHAPES = {128: (8, 16), 256: (16, 16), 512: (16, 32), 1024: (32, 32)}


def lattice(rows: int, cols: int, euclidean: bool = False) -> np.ndarray:
    y, x = np.divmod(np.arange(rows * cols), cols)
    dy, dx = np.abs(y[:, None] - y), np.abs(x[:, None] - x)
    return np.hypot(dy, dx) if euclidean else (dy + dx).astype(float)


def instances(n: int, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rows, cols = SHAPES[n]
    i, j = np.indices((n, n))
    kernel = rng.integers(0, 100, n).astype(float)
    kernel = kernel + np.roll(kernel[::-1], 1)  # symmetric: c[k] == c[n - k]
    ring = np.minimum(np.abs(i - j), n - np.abs(i - j)).astype(float)
    line = rng.integers(0, 100, n).astype(float)
    flows = rng.integers(0, 100, (n, n)).astype(float)
    return {
        "circulant": (kernel[(j - i) % n], ring),
        "grid": (lattice(cols, rows), lattice(rows, cols)),
        "grid_euclidean": (lattice(cols, rows, True), lattice(rows, cols, True)),
        "toeplitz": (line[np.abs(i - j)], np.abs(i - j).astype(float)),
        "dense x grid": (flows + flows.T, lattice(rows, cols)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=sorted(SHAPES), choices=sorted(SHAPES))
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "fft_products.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    print(f"{'instance':<15} {'n':>5} {'structures (A, B)':<34} {'GEMM ms':>9} {'FFT ms':>9} {'speed-up':>9} "
          f"{'rel diff':>9} {'fft mode':>9}")
    for n in args.sizes:
        for name, (A, B) in instances(n, rng).items():
            P = rng.random((n, n))
            gemm, fft = _core.RelaxationProducts(A, B, "gemm"), _core.RelaxationProducts(A, B, "fft")
            g_ref, _ = gemm.gradient(P)
            g_fft, _ = fft.gradient(P)
            diff = float(np.max(np.abs(g_fft - g_ref)) / np.max(np.abs(g_ref)))
            t_gemm, t_fft = [], []
            for _ in range(args.repeats):  # interleaved
                t_gemm += _core._testing.time_gradient(gemm, P, 1)
                t_fft += _core._testing.time_gradient(fft, P, 1)
            mg, mf = statistics.median(t_gemm), statistics.median(t_fft)
            structures = f"{fft.structure_a}, {fft.structure_b}"
            mode_path = _core.RelaxationProducts(A, B, "auto").path  # what the fft mode uses at this n
            print(f"{name:<15} {n:>5} {structures:<34} {mg * 1e3:>9.2f} {mf * 1e3:>9.2f} {mg / mf:>8.1f}x {diff:>9.1e} "
                  f"{mode_path:>9}")
            rows.append({"instance": name, "n": n, "structure_a": fft.structure_a, "structure_b": fft.structure_b,
                         "path": fft.path, "fft_mode_path": mode_path, "gemm_seconds": mg, "fft_seconds": mf,
                         "speedup": mg / mf, "max_relative_difference": diff, "repeats": args.repeats})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
