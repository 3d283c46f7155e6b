"""mezan RoTS vs scipy.optimize.quadratic_assignment (faq, 2opt) at equal wall time.

Every instance of the QAPLIB reference folder with 20 <= n <= 60; each solver gets the same
budget per instance (default 1 s). scipy's methods are run again and again from random starts
(faq: P0="randomized", 2opt: random initial permutation) until the budget is spent, best kept;
mezan runs one RoTS solve with that time limit and one thread. Prints the gap to the best-known
value per instance and the means, and the ratio of mezan's mean gap to the best scipy mean gap.

    python bench/qap_vs_scipy.py [--qaplib ../shared/qaplib] [--time 1.0] [--max-n 60]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from scipy.optimize import quadratic_assignment as scipy_qap

from mezan.qap import read_qaplib, solve

REPO = Path(__file__).resolve().parents[1]


def scipy_restarts(problem, method: str, budget: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    best = np.inf
    start = time.perf_counter()
    while time.perf_counter() - start < budget:
        options = {"rng": rng}
        if method == "faq":
            options["P0"] = "randomized"
        res = scipy_qap(problem.A, problem.B, method=method, options=options)
        best = min(best, res.fun)
    return best


def gap(value: float, bks: float) -> float:
    return (value - bks) / abs(bks) if bks else float(value != bks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qaplib", type=Path, default=REPO.parent / "shared" / "qaplib")
    parser.add_argument("--time", type=float, default=1.0)
    parser.add_argument("--min-n", type=int, default=20)
    parser.add_argument("--max-n", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with open(args.qaplib / "bks.csv") as f:
        rows = [r for r in csv.DictReader(f) if args.min_n <= int(r["n"]) <= args.max_n]
    rows = [r for r in rows if (args.qaplib / f"{r['name']}.dat").exists()]
    gaps: dict[str, list[float]] = {"mezan_rots": [], "scipy_faq": [], "scipy_2opt": []}
    print(f"{len(rows)} instances, {args.time:g} s per instance and solver, gaps to the best-known value (%)")
    print(f"{'instance':<10} {'n':>3} {'bks':>11} {'mezan_rots':>11} {'scipy_faq':>10} {'scipy_2opt':>11}")
    for r in rows:
        problem = read_qaplib(args.qaplib / f"{r['name']}.dat")
        bks = float(r["bks"])
        ours = solve(problem, None, method="rots", time_limit=args.time, seed=args.seed).objective
        faq = scipy_restarts(problem, "faq", args.time, args.seed)
        two = scipy_restarts(problem, "2opt", args.time, args.seed)
        row = [gap(ours, bks), gap(faq, bks), gap(two, bks)]
        for key, g in zip(gaps, row, strict=True):
            gaps[key].append(g)
        print(f"{r['name']:<10} {r['n']:>3} {int(bks):>11} " + " ".join(f"{100 * g:>10.3f}" for g in row), flush=True)
    means = {k: 100 * float(np.mean(v)) for k, v in gaps.items()}
    print("mean gap (%): " + ", ".join(f"{k} {v:.3f}" for k, v in means.items()))
    best_scipy = min(means["scipy_faq"], means["scipy_2opt"])
    print(f"mezan mean gap / best scipy mean gap = {means['mezan_rots'] / best_scipy:.4f} (target <= 0.2)")


if __name__ == "__main__":
    main()
