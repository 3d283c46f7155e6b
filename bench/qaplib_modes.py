"""QAPFlow modes on the QAPLIB reference instances: gap to the best-known value and time to reach it.

Every instance of the reference folder with n >= --min-n (default 20), each mode given --time seconds
(default 10) and one thread. Prints one line per instance (gap % per mode, and the seconds until the
best-known value was first reached, '-' if never), then the mean gap per family and mode, and how many
instances with n <= 30 reached their best-known value.

    python bench/qaplib_modes.py [--modes enhanced hybrid aggressive] [--time 10] [--qaplib DIR]
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from mezan.qap import MODES, read_qaplib, solve

REPO = Path(__file__).resolve().parents[1]


def family(name: str) -> str:
    base = re.match(r"[a-z]+", name).group(0)
    return f"{base}*{name[-1]}" if base == "tai" else base


def time_to(trace, bks) -> float | None:
    return next((t for t, v in trace if v <= bks), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qaplib", type=Path, default=REPO.parent / "shared" / "qaplib")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--time", type=float, default=10.0)
    parser.add_argument("--min-n", type=int, default=20)
    parser.add_argument("--max-n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with open(args.qaplib / "bks.csv") as f:
        rows = [r for r in csv.DictReader(f) if args.min_n <= int(r["n"]) <= args.max_n]
    rows = [r for r in rows if (args.qaplib / f"{r['name']}.dat").exists()]
    print(f"{len(rows)} instances, {args.time:g} s per instance and mode, one thread; gap % (time to best-known s)")
    print(f"{'instance':<10} {'n':>4} " + " ".join(f"{m:>22}" for m in args.modes))
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    reached_small = defaultdict(int)
    small = 0
    for r in rows:
        problem = read_qaplib(args.qaplib / f"{r['name']}.dat")
        bks = float(r["bks"])
        small += int(r["n"]) <= 30
        cells = []
        for mode in args.modes:
            res = solve(problem, None, mode=mode, time_limit=args.time, seed=args.seed, target=bks,
                        lower_bound=False)
            gap = (res.objective - bks) / abs(bks) if bks else float(res.objective != bks)
            gaps[(family(r["name"]), mode)].append(gap)
            t = time_to(res.trace, bks)
            if t is not None and int(r["n"]) <= 30:
                reached_small[mode] += 1
            cells.append(f"{100 * gap:>9.3f} ({'-' if t is None else f'{t:.2f}':>9})")
        print(f"{r['name']:<10} {r['n']:>4} " + " ".join(f"{c:>22}" for c in cells), flush=True)
    print("\nmean gap % per family")
    print(f"{'family':<10} " + " ".join(f"{m:>12}" for m in args.modes))
    for fam in sorted({f for f, _ in gaps}):
        print(f"{fam:<10} " + " ".join(f"{100 * np.mean(gaps[(fam, m)]):>12.4f}" for m in args.modes))
    print("\nbest-known reached on n <= 30: " + ", ".join(f"{m} {reached_small[m]}/{small}" for m in args.modes))


if __name__ == "__main__":
    main()
