"""RoTS iterations per second through the Python API, one thread, at n = 100 (and others).

Taillard-style uniform instances (values 0..99, zero diagonal), symmetric and asymmetric; each
measurement runs a fixed iteration cap and is repeated, the median reported.

    python bench/rots_speed.py [--sizes 100 200] [--iterations 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from mezan.qap import solve


def instance(n: int, symmetric: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    A, B = rng.integers(0, 100, (n, n)), rng.integers(0, 100, (n, n))
    if symmetric:
        A, B = np.triu(A, 1) + np.triu(A, 1).T, np.triu(B, 1) + np.triu(B, 1).T
    np.fill_diagonal(A, 0)
    np.fill_diagonal(B, 0)
    return A, B


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200, 400])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'n':>5} {'kind':<11} {'median it/s':>12} {'min':>10} {'max':>10}")
    for n in args.sizes:
        for symmetric in (True, False):
            A, B = instance(n, symmetric)
            iterations = max(1000, args.iterations * 100 * 100 // (n * n))
            rates = []
            for r in range(args.repeats):
                res = solve(A, B, method="rots", max_iter=iterations, time_limit=None, seed=r, lower_bound=False)
                rates.append(res.iterations / res.wall_time)
            kind = "symmetric" if symmetric else "asymmetric"
            print(f"{n:>5} {kind:<11} {statistics.median(rates):>12,.0f} {min(rates):>10,.0f} {max(rates):>10,.0f}")


if __name__ == "__main__":
    main()
