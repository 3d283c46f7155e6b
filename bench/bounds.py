"""Lower bounds on every ../shared/qaplib instance: Gilmore–Lawler, projection, and the best of both.

Per family: mean bound / best-known value (higher is better, 1 = tight) for each bound, how often
the projection bound is the larger one, and the median time of each. The projection bound needs
one symmetric matrix; families where both are asymmetric (bur) report GLB only.

    python bench/bounds.py [--qaplib ../shared/qaplib]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path

from mezan.qap import gilmore_lawler_bound, projection_bound, read_qaplib

REPO = Path(__file__).resolve().parents[1]


def timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qaplib", type=Path, default=REPO.parent / "shared" / "qaplib")
    args = parser.parse_args()
    families: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(args.qaplib.glob("*.dat")):
        problem = read_qaplib(path)
        if not problem.best_known:
            continue
        glb, t_glb = timed(gilmore_lawler_bound, problem)
        pb, t_pb = timed(projection_bound, problem)
        family = re.match(r"[a-z]+", path.stem).group(0)
        if family == "tai":
            family += path.stem[-1]  # tai..a / tai..b
        families[family].append({"glb": glb / problem.best_known, "pb": None if pb is None else pb / problem.best_known,
                                 "best": max(glb, pb if pb is not None else glb) / problem.best_known,
                                 "t_glb": t_glb, "t_pb": t_pb, "pb_wins": pb is not None and pb > glb})
    print(f"{'family':<7} {'count':>5} {'GLB/BKS':>8} {'PB/BKS':>8} {'best/BKS':>9} {'PB wins':>8} "
          f"{'GLB ms':>7} {'PB ms':>7}")
    for family, rows in sorted(families.items()):
        pbs = [r["pb"] for r in rows if r["pb"] is not None]
        pb_text = f"{statistics.mean(pbs):>8.3f}" if pbs else f"{'-':>8}"
        print(f"{family:<7} {len(rows):>5} {statistics.mean(r['glb'] for r in rows):>8.3f} {pb_text} "
              f"{statistics.mean(r['best'] for r in rows):>9.3f} {sum(r['pb_wins'] for r in rows):>4}/{len(rows):<3} "
              f"{statistics.median(r['t_glb'] for r in rows) * 1e3:>7.2f} "
              f"{statistics.median(r['t_pb'] for r in rows) * 1e3:>7.2f}")


if __name__ == "__main__":
    main()
