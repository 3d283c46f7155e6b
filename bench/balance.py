"""QAPFlow's balance and portfolio modes against the single modes, two threads each.

The instance set of ``bench/qap_vs_bls.py`` (QAPLIB instances of the reference folder with n >= --min-n and the
generated kinds at the given sizes), --time seconds per run (default 10), threads = 2, --seeds seeds (default 3:
with one, per-family verdicts swing between runs); modes balance, portfolio, aggressive, enhanced, hybrid, run one
after the other. Prints the mean gap per family and mode (to the best-known value, or to the best any run found),
whether ``portfolio`` is at or below the best single mode of each family (the per-family virtual best) and
``balance`` below ``hybrid`` on average, and the share of the incumbent's improvements each side of ``balance``
produced (from its explanation). Cells go to --out as they finish; a run started again skips those already there.

    python bench/balance.py [--time 10] [--seeds 3] [--sizes 80,100,150] [--min-n 40] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
from qap_vs_bls import KINDS, SHARED, gap, instances, references

from mezan.qap import solve

REPO = Path(__file__).resolve().parents[1]
MODES = ("balance", "portfolio", "aggressive", "enhanced", "hybrid")
SINGLE = ("aggressive", "enhanced", "hybrid")


def side_improvements(explanation: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for side, count in re.findall(r"(breakout|tabu|relaxation) \d+ slices, (\d+) improvements", explanation):
        out[side] += int(count)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qaplib", default=str(SHARED / "qaplib"))
    parser.add_argument("--time", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sizes", default="80,100,150")
    parser.add_argument("--min-n", type=int, default=40)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "balance.json"))
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.kinds = [k for k in args.kinds.split(",") if k]
    out = Path(args.out)
    cells = json.loads(out.read_text()) if out.exists() else []
    done = {(c["instance"], c["mode"], c["seed"]) for c in cells}
    todo = instances(args)
    total, count = len(todo) * args.seeds * len(MODES), 0
    for family, name, problem, best_known in todo:
        for seed in range(args.seeds):
            for mode in MODES:
                count += 1
                if (name, mode, seed) in done:
                    continue
                r = solve(problem, None, mode=mode, time_limit=args.time, seed=seed, threads=args.threads,
                          lower_bound=False, target=best_known)
                cells.append({"family": family, "instance": name, "mode": mode, "seed": seed,
                              "objective": float(r.objective), "best_known": best_known,
                              "sides": side_improvements(r.explanation)})
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(cells, indent=1))
                print(f"[{count}/{total}] {name} seed {seed} {mode}: {r.objective:.10g}", flush=True)
    report(cells)


def report(cells: list[dict]) -> None:
    reference = references(cells)
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    for c in cells:
        gaps[(c["family"], c["mode"])].append(gap(c["objective"], reference[c["instance"]]))
    families = sorted({c["family"] for c in cells})
    print(f"\n{'family':<16}" + "".join(f"{m:>12}" for m in MODES) + f"{'portfolio<=VB':>15}")
    at_or_below = 0
    for family in families:
        row = {m: float(np.mean(gaps[(family, m)])) for m in MODES if gaps[(family, m)]}
        best_single = min(row[m] for m in SINGLE if m in row)
        ok = row.get("portfolio", np.inf) <= best_single + 1e-9
        at_or_below += ok
        print(f"{family:<16}" + "".join(f"{row.get(m, float('nan')):>12.4f}" for m in MODES) + f"{ok!s:>15}")
    means = {m: float(np.mean([g for (f, m2), v in gaps.items() if m2 == m for g in v])) for m in MODES}
    print(f"{'ALL':<16}" + "".join(f"{means[m]:>12.4f}" for m in MODES))
    print(f"portfolio at or below the best single mode on {at_or_below} of {len(families)} families; "
          f"balance {means['balance']:.4f} % vs hybrid {means['hybrid']:.4f} % on average")
    sides: dict[str, int] = defaultdict(int)
    for c in cells:
        if c["mode"] == "balance":
            for side, count in c["sides"].items():
                sides[side] += count
    total = sum(sides.values()) or 1
    print("balance: share of incumbent improvements by side: " +
          ", ".join(f"{side} {100.0 * count / total:.1f} % ({count})" for side, count in sorted(sides.items())))


if __name__ == "__main__":
    main()
