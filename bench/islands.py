"""QAPFlow ``islands`` on 2 Dask workers against ``enhanced`` (one thread) and ``aggressive`` (two) at equal wall time.

Runs, one solve at a time (the islands solve alone uses the two workers of a ``DaskExecutor(local_cluster=2)``,
started once and not counted), every mode at --time seconds on every instance: the QAPLIB instances of the reference
folder with n >= --min-n, and generated instances of size --size (taillard_a, taillard_b, ring_circulant,
grid_manhattan 10x15 at 150), for --seeds seeds. All stop early at the best-known value when there is one
(``target=``). The gap of a run is to the best-known value or, for a generated instance, to the best objective any
run found on it.

Prints per instance the gap (%) of each mode (mean over seeds), then the mean gap per mode and the wins / ties /
losses of islands against each other mode (a tie is within 1e-7 %). Cells are appended to --out as they finish, and
a run started again skips the cells already there (interrupt and resume freely).

    python bench/islands.py [--time 30] [--seeds 1] [--instances tai50a,...] [--max-instances N] [--min-n 50]
                            [--size 150] [--kinds taillard_a,...] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from qap_vs_bls import gap, generated, references

from mezan.dist import DaskExecutor
from mezan.qap import read_qaplib, solve

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
KINDS = ("taillard_a", "taillard_b", "ring_circulant", "grid_manhattan")
MODES = {"islands": {"mode": "islands"}, "enhanced": {"mode": "enhanced", "threads": 1},
         "aggressive": {"mode": "aggressive", "threads": 2}}


def instances(args) -> list[tuple[str, object, float | None]]:
    """(name, problem, best known or None), filtered by --instances and cut at --max-instances."""
    folder = Path(args.qaplib)
    rows = [line.split(",") for line in (folder / "bks.csv").read_text().splitlines()[1:]]
    rows = sorted((int(n), name, float(v)) for name, n, v in rows
                  if int(n) >= args.min_n and (folder / f"{name}.dat").exists())
    out = [(name, read_qaplib(folder / f"{name}.dat"), value) for _, name, value in rows]
    out += [generated(kind, args.size, seed=1000 + args.size) for kind in args.kinds.split(",") if kind]
    wanted = {w for w in args.instances.split(",") if w}
    return [item for item in out if not wanted or item[0] in wanted][:args.max_instances]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qaplib", default=str(SHARED / "qaplib"))
    parser.add_argument("--time", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--instances", default="", help="comma list of instance names (default: all)")
    parser.add_argument("--max-instances", type=int, default=None)
    parser.add_argument("--min-n", type=int, default=50)
    parser.add_argument("--size", type=int, default=150)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "islands.json"))
    args = parser.parse_args()
    out = Path(args.out)
    cells = json.loads(out.read_text()) if out.exists() else []
    done = {(c["instance"], c["mode"], c["budget"], c["seed"]) for c in cells}
    todo = instances(args)
    total, count, cluster = len(todo) * args.seeds * len(MODES), 0, None
    try:
        for name, problem, best_known in todo:
            for seed in range(args.seeds):
                for mode, options in MODES.items():
                    count += 1
                    if (name, mode, args.time, seed) in done:
                        continue
                    if mode == "islands" and cluster is None:
                        started = time.perf_counter()
                        cluster = DaskExecutor(local_cluster=2, quiet=True)
                        print(f"Dask LocalCluster of 2 workers started in {time.perf_counter() - started:.1f} s "
                              f"(not counted)", flush=True)
                    extra = {"executor": cluster} if mode == "islands" else {"lower_bound": False}
                    r = solve(problem, None, time_limit=args.time, seed=seed, target=best_known, **options, **extra)
                    cells.append({"instance": name, "n": problem.n, "mode": mode, "budget": args.time, "seed": seed,
                                  "objective": float(r.objective), "wall_time": r.wall_time,
                                  "best_known": best_known, "explanation": r.explanation})
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(json.dumps(cells, indent=1))
                    print(f"[{count}/{total}] {name} seed {seed} {mode}: {r.objective:.10g} ({r.wall_time:.1f} s)",
                          flush=True)
    finally:
        if cluster is not None:
            cluster.close()
    report([c for c in cells if c["budget"] == args.time and c["instance"] in {t[0] for t in todo}], cells)


def report(cells: list[dict], every: list[dict]) -> None:
    reference = references(every)  # best known, or the best any run found (any budget)
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    for c in cells:
        gaps[(c["instance"], c["mode"])].append(gap(c["objective"], reference[c["instance"]]))
    names = list(dict.fromkeys(c["instance"] for c in cells))
    mean = {key: float(np.mean(v)) for key, v in gaps.items()}
    print(f"\n== gap (%) to the best known / best found, mean over seeds ==\n{'instance':<20}"
          + "".join(f"{m:>12}" for m in MODES))
    for name in names:
        print(f"{name:<20}" + "".join(f"{mean.get((name, m), float('nan')):>12.4f}" for m in MODES))
    print(f"{'MEAN':<20}" + "".join(f"{np.mean([mean[k] for k in mean if k[1] == m] or [np.nan]):>12.4f}"
                                    for m in MODES))
    for other in (m for m in MODES if m != "islands"):
        pairs = [(mean[(n, "islands")], mean[(n, other)]) for n in names if (n, "islands") in mean
                 and (n, other) in mean]
        wins = sum(a < b - 1e-7 for a, b in pairs)
        losses = sum(a > b + 1e-7 for a, b in pairs)
        print(f"islands vs {other}: {wins} wins, {len(pairs) - wins - losses} ties, {losses} losses")


if __name__ == "__main__":
    main()
