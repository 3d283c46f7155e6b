"""QAPFlow against the best published long-run quality: Taillard-a at 60 s on two threads.

BMA (Benlic & Hao 2015, "Memetic search for the quadratic assignment problem", Expert Systems with Applications
42) reports average gaps to the best-known values, on one core of a 2.8 GHz Xeon, after 30 minutes and after
2 hours (the table below). This script runs --modes (default ``auto``) for --time seconds (default 60) with
--threads threads (default 2) and --seeds seeds (default 3) on QAPLIB tai50a and tai60a (from ../shared/qaplib:
their gaps are to the best-known values, as BMA's) and on generated Taillard-a instances of n = 80 and 100 (gaps to
the best objective any run of this script found on them, including the --reference-modes runs of
--reference-time seconds each on the generated instances (seed 0, the same threads; stated as such: they have no
published optimum), or --reference FILE: a JSON {name: objective} of the best found by longer runs). Cells go to
--out as they finish; a run started again skips those already there.

    python bench/frontier.py [--time 60] [--seeds 3] [--threads 2] [--modes auto,portfolio]
                             [--reference-time 600] [--reference-modes auto,portfolio] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from qap_vs_bls import SHARED, gap

from mezan.qap import generate, read_qaplib, solve

REPO = Path(__file__).resolve().parents[1]
BMA = {"tai50a": (0.264, 0.131), "tai60a": (0.307, 0.144), "tai80a": (0.563, 0.426), "tai100a": (0.619, 0.442)}
"""BMA's published average gaps (%) after 30 minutes and after 2 hours."""
TARGET_GENERATED = {80: 0.56, 100: 0.62}
"""The targets on generated Taillard-a of n = 80 and 100 (BMA's 30-minute gaps on tai80a and tai100a)."""


def instances(qaplib: Path) -> list[tuple[str, object, float | None, float]]:
    """(name, problem, best-known value or None, target gap %)."""
    bks = {line.split(",")[0]: float(line.split(",")[2]) for line in (qaplib / "bks.csv").read_text().splitlines()[1:]}
    out = []
    for name in ("tai50a", "tai60a"):
        out.append((name, read_qaplib(qaplib / f"{name}.dat"), bks[name], BMA[name][0]))
    for n, target in TARGET_GENERATED.items():
        out.append((f"taillard_a{n}", generate.taillard_a(n, seed=1000 + n), None, target))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qaplib", default=str(SHARED / "qaplib"))
    parser.add_argument("--time", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", default="auto")
    parser.add_argument("--reference", default=None, help="JSON {name: best objective found by longer runs}")
    parser.add_argument("--reference-time", type=float, default=0.0,
                        help="seconds of each reference run on the generated instances (0: none)")
    parser.add_argument("--reference-modes", default="auto,portfolio")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "frontier.json"))
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    out = Path(args.out)
    cells = json.loads(out.read_text()) if out.exists() else []
    done = {(c["instance"], c["mode"], c["seed"], c["time"], bool(c.get("reference"))) for c in cells}
    todo = instances(Path(args.qaplib))
    runs = [(name, problem, best_known, seed, mode, args.time, False)
            for name, problem, best_known, _ in todo for seed in range(args.seeds) for mode in modes]
    if args.reference_time > 0:
        runs += [(name, problem, None, 0, mode, args.reference_time, True)
                 for name, problem, best_known, _ in todo if best_known is None
                 for mode in args.reference_modes.split(",") if mode]
    for name, problem, best_known, seed, mode, seconds, reference in runs:
        if (name, mode, seed, seconds, reference) in done:
            continue
        r = solve(problem, None, mode=mode, time_limit=seconds, seed=seed, threads=args.threads,
                  lower_bound=False, target=best_known)
        cells.append({"instance": name, "mode": mode, "seed": seed, "objective": float(r.objective),
                      "best_known": best_known, "time": seconds, "threads": args.threads, "reference": reference,
                      "method": r.method})
        done.add((name, mode, seed, seconds, reference))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(cells, indent=1))
        print(f"{name} {mode} seed {seed} {seconds:g} s: {r.objective:.10g}", flush=True)
    report(cells, todo, modes, args.time, json.loads(Path(args.reference).read_text()) if args.reference else {})


def report(cells: list[dict], todo: list, modes: list[str], seconds: float, longer: dict[str, float]) -> None:
    """Mean gap per instance and mode of the runs of ``seconds``; the reference of a generated instance is the best
    objective of every cell (reference runs included) and of ``longer``."""
    found: dict[str, float] = defaultdict(lambda: np.inf)
    reference_runs: dict[str, list[str]] = defaultdict(list)
    for c in cells:
        found[c["instance"]] = min(found[c["instance"]], c["objective"])
        if c.get("reference"):
            reference_runs[c["instance"]].append(f"{c['mode']} {c['time']:g} s")
    print(f"\n{'instance':<14}{'reference':>16}{'target %':>10}" + "".join(f"{m:>12}" for m in modes) + "  met")
    for name, _, best_known, target in todo:
        reference = best_known if best_known is not None else min(found[name], longer.get(name, np.inf))
        means = []
        for mode in modes:
            gaps = [gap(c["objective"], reference) for c in cells
                    if c["instance"] == name and c["mode"] == mode and c["time"] == seconds and not c.get("reference")]
            means.append(float(np.mean(gaps)) if gaps else float("nan"))
        kind = ("best known" if best_known is not None else "longer runs" if name in longer
                else f"best found here, with {', '.join(reference_runs[name])}" if reference_runs[name]
                else "best found here")
        met = ", ".join(m for m, g in zip(modes, means, strict=True) if g <= target + 1e-12) or "-"
        print(f"{name:<14}{reference:>16.10g}{target:>10.3f}" + "".join(f"{g:>12.4f}" for g in means) +
              f"  {met} ({kind})")


if __name__ == "__main__":
    main()
