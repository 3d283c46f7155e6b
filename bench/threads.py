"""Do two threads help? QAPFlow's ``auto`` mode with ``threads=2`` against ``threads=1`` at equal wall time.

The instance set of ``bench/balance.py`` (QAPLIB instances of the reference folder with n >= --min-n, and the
generated families of ``bench/qap_vs_bls.py`` at --sizes), --seeds seeds each (default 3), --time seconds per run;
the two thread counts run one after the other for each seed (alternating which goes first, so a drift of the
machine's speed does not favour either). Gaps are to the best-known value, or to the best any run found. Prints the
mean gap per family for one and two threads, whether two threads are at or below one thread on every family and
lower on average (the target), and the per-instance wins. Cells go to --out as they finish; a run started again
skips those already there.

    python bench/threads.py [--time 10] [--seeds 3] [--sizes 80,100] [--min-n 50] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from qap_vs_bls import KINDS, SHARED, gap, instances, references

from mezan.qap import solve

REPO = Path(__file__).resolve().parents[1]
THREADS = (1, 2)


def run(args: argparse.Namespace) -> list[dict]:
    """Every (instance, seed, threads) cell not yet in --out, solved and appended to it."""
    out = Path(args.out)
    cells = json.loads(out.read_text()) if out.exists() else []
    done = {(c["instance"], c["threads"], c["seed"]) for c in cells}
    todo = instances(args)
    total, count = len(todo) * args.seeds * len(THREADS), 0
    for family, name, problem, best_known in todo:
        for seed in range(args.seeds):
            order = THREADS if seed % 2 == 0 else THREADS[::-1]
            for threads in order:
                count += 1
                if (name, threads, seed) in done:
                    continue
                r = solve(problem, None, mode="auto", time_limit=args.time, seed=seed, threads=threads,
                          lower_bound=False, target=best_known)
                cells.append({"family": family, "instance": name, "n": problem.n, "threads": threads, "seed": seed,
                              "objective": float(r.objective), "best_known": best_known,
                              "wall_time": float(r.wall_time), "time": args.time})
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(cells, indent=1))
                print(f"[{count}/{total}] {name} seed {seed} threads {threads}: {r.objective:.10g} "
                      f"({r.wall_time:.1f} s)", flush=True)
    return cells


def report(cells: list[dict]) -> bool:
    """The table; True when two threads are at or below one thread on every family and lower on average."""
    reference = references(cells)
    gaps: dict[tuple[str, int], list[float]] = defaultdict(list)
    per_instance: dict[tuple[str, int], list[float]] = defaultdict(list)
    for c in cells:
        g = gap(c["objective"], reference[c["instance"]])
        gaps[(c["family"], c["threads"])].append(g)
        per_instance[(c["instance"], c["threads"])].append(g)
    families = sorted({c["family"] for c in cells})
    print(f"\n{'family':<16}{'cells':>6}{'1 thread':>11}{'2 threads':>11}{'2 <= 1':>8}")
    every = True
    for family in families:
        one, two = np.mean(gaps[(family, 1)]), np.mean(gaps[(family, 2)])
        ok = bool(two <= one + 1e-12)
        every &= ok
        print(f"{family:<16}{len(gaps[(family, 2)]):>6}{one:>11.4f}{two:>11.4f}{ok!s:>8}")
    mean = {t: float(np.mean([g for (f, t2), v in gaps.items() if t2 == t for g in v])) for t in THREADS}
    print(f"{'ALL':<16}{'':>6}{mean[1]:>11.4f}{mean[2]:>11.4f}")
    names = sorted({c["instance"] for c in cells})
    wins = sum(np.mean(per_instance[(n, 2)]) < np.mean(per_instance[(n, 1)]) - 1e-12 for n in names)
    losses = sum(np.mean(per_instance[(n, 2)]) > np.mean(per_instance[(n, 1)]) + 1e-12 for n in names)
    print(f"per instance (mean over seeds): two threads better on {wins}, worse on {losses}, "
          f"tied on {len(names) - wins - losses} of {len(names)}")
    met = every and mean[2] < mean[1]
    print(f"target (two threads at or below one on every family, lower on average): {'met' if met else 'NOT met'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qaplib", default=str(SHARED / "qaplib"))
    parser.add_argument("--time", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sizes", default="80,100")
    parser.add_argument("--min-n", type=int, default=50)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "threads.json"))
    parser.add_argument("--report", action="store_true", help="only print the table of the cells in --out")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.kinds = [k for k in args.kinds.split(",") if k]
    cells = json.loads(Path(args.out).read_text()) if args.report else run(args)
    report(cells)


if __name__ == "__main__":
    main()
