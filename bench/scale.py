"""QAPFlow at scale: generated instances of n = 500 and 1,000 (dense, grid, ring) — time per RoTS iteration and
per relaxation step, peak memory, and the gap reached in a minute against the best of all modes in ten.

    python bench/scale.py [--sizes 500 1000] [--families dense grid ring] [--time 60] [--seeds 1]
                          [--modes auto] [--reference-time 600] [--reference-modes auto portfolio]
                          [--threads 2] [--json FILE]

Instances: ``dense`` is Taillard-a-like (uniform flows and distances, mezan.qap.generate.taillard_a), ``grid``
Manhattan distances on an r x c lattice (r the largest divisor of n up to sqrt(n)) with sparse flows
(generate.grid_manhattan), ``ring`` circulant distances on a ring (generate.ring_circulant); seed 0 each.

Each measurement runs in its own child process, so that its peak memory is its own: the kernel's high-water
mark (VmHWM) is reset (``/proc/self/clear_refs``) after the instance is built, and the peak reported is the
increase over the resident size at that moment (the solver's copies of the inputs, its tables and threads).

- RoTS: seconds per iteration, one thread, the difference of a run of K and one of 3K iterations (the O(n^3)
  table initialisation and the call cancel out); median of 3.
- Relaxation: seconds per Frank-Wolfe step of FAQ with the products the core picks (GEMM, or FFT for structured
  matrices): runs capped at k and 3k steps (k = 3, or more when 3k steps take under 0.3 s), the difference of their
  times over the difference of the steps they made (FAQ stops once a step no longer moves: NaN if both stopped at
  the same step); median of 3.
- Runs: each mode of ``--modes`` for ``--time`` seconds on ``--threads`` threads, per seed: objective, which
  method the mode chose, how many times the incumbent improved in the second half of the budget (progress at
  this size), and peak memory. The reference is the best objective of every run of this script on the instance,
  including the ``--reference-modes`` runs of ``--reference-time`` seconds (stated as such: these are generated
  instances with no published optimum). The gap is 100 (objective - reference) / reference.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time

import numpy as np
from memory import status_kib  # bench/memory.py: a field of /proc/self/status, in KiB

from mezan import _core
from mezan.qap import generate, solve

FAMILIES = ("dense", "grid", "ring")


def instance(family: str, n: int):
    if family == "dense":
        return generate.taillard_a(n, seed=0)
    if family == "grid":
        rows = max(r for r in range(1, math.isqrt(n) + 1) if n % r == 0)
        return generate.grid_manhattan(rows, n // rows, seed=0)
    if family == "ring":
        return generate.ring_circulant(n, seed=0)
    raise SystemExit(f"--families: unknown family {family!r}; families: {', '.join(FAMILIES)}")


def reset_peak() -> int:
    """Reset the high-water mark; the resident KiB now."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return status_kib("VmRSS")


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def rots_seconds_per_iteration(problem, k: int) -> float:
    def run(iterations: int) -> float:
        return timed(lambda: solve(problem, None, method="rots", max_iter=iterations, time_limit=600, seed=0,
                                   threads=1, lower_bound=False))

    return statistics.median((run(3 * k) - run(k)) / (2 * k) for _ in range(3))


def relaxation_seconds_per_step(problem) -> tuple[float, str]:
    """Seconds per Frank-Wolfe step: the difference of two runs over the difference of the steps they made (FAQ stops
    early once a step no longer moves: NaN when the two runs made the same number of steps)."""
    A, B = np.asarray(problem.A, dtype=float), np.asarray(problem.B, dtype=float)
    fixed = np.full(problem.n, -1, dtype=np.int32)
    paths = []

    def run(steps: int) -> tuple[float, int]:
        start = time.perf_counter()
        report = _core.faq(A, B, fixed, None, steps, 0.0, "auto")
        paths.append(report.products)
        return time.perf_counter() - start, report.iterations

    def per_step(short: int) -> float:
        (t_short, k_short), (t_long, k_long) = run(short), run(3 * short)
        return (t_long - t_short) / (k_long - k_short) if k_long > k_short else math.nan

    short = 3
    while short < 3 * 4**4 and run(3 * short)[0] < 0.3:  # cheap steps (FFT products): more of them, above the noise
        short *= 4
    return statistics.median(per_step(short) for _ in range(3)), paths[-1]


def child(task: dict) -> dict:
    """One measurement (in a child process): its numbers and its peak memory in MiB above the instance's."""
    problem = instance(task["family"], task["n"])
    before = reset_peak()
    out: dict = {}
    if task["kind"] == "rots":
        out["seconds"] = rots_seconds_per_iteration(problem, task["k"])
    elif task["kind"] == "relaxation":
        out["seconds"], out["products"] = relaxation_seconds_per_step(problem)
    else:
        result = solve(problem, None, mode=task["mode"], time_limit=task["time"], seed=task["seed"],
                       threads=task["threads"], lower_bound=False)
        half = task["time"] / 2
        out.update(objective=float(result.objective), status=result.status, method=result.explanation,
                   wall=result.wall_time, improvements_second_half=sum(1 for t, _ in result.trace if t >= half),
                   last_improvement=result.trace[-1][0] if result.trace else None)
    out["peak_mib"] = (status_kib("VmHWM") - before) / 1024
    return out


def measure(task: dict) -> dict:
    run = subprocess.run([sys.executable, __file__, "--child", json.dumps(task)], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{task}: {run.stderr[-2000:]}")
    return {**task, **json.loads(run.stdout.strip().splitlines()[-1])}


def rows_for(family: str, n: int, args) -> list[dict]:
    base = {"family": family, "n": n}
    rows = [measure({**base, "kind": "rots", "k": 2000 if n <= 500 else 1000}),
            measure({**base, "kind": "relaxation"})]
    for mode in args.modes:
        for seed in range(args.seeds):
            rows.append(measure({**base, "kind": "run", "mode": mode, "time": args.time, "seed": seed,
                                 "threads": args.threads}))
    if args.reference_time > 0:
        for mode in args.reference_modes:
            rows.append(measure({**base, "kind": "run", "mode": mode, "time": args.reference_time, "seed": 0,
                                 "threads": args.threads, "reference": True}))
        print(f"  {family} n={n}: reference runs done", file=sys.stderr, flush=True)
    return rows


def report(rows: list[dict], args) -> None:
    longer = (f" (including {', '.join(args.reference_modes)} for {args.reference_time:g} s)"
              if args.reference_time > 0 else "")
    print(f"QAPFlow at scale: {args.time:g} s runs on {args.threads} threads, reference = best of every run here"
          f"{longer}\n")
    header = (f"{'family':6} {'n':>5} {'RoTS us/it':>10} {'relax ms/step':>13} {'products':>8} {'mode':>9} "
              f"{'gap %':>7} {'improved 2nd half':>17} {'peak MiB':>8}  method")
    print(header)
    for (family, n) in dict.fromkeys((r["family"], r["n"]) for r in rows):
        mine = [r for r in rows if r["family"] == family and r["n"] == n]
        rots = next(r for r in mine if r["kind"] == "rots")
        relax = next(r for r in mine if r["kind"] == "relaxation")
        runs = [r for r in mine if r["kind"] == "run"]
        best = min(r["objective"] for r in runs)
        for mode in dict.fromkeys(r["mode"] for r in runs if not r.get("reference")):
            these = [r for r in runs if r["mode"] == mode and not r.get("reference")]
            gap = statistics.mean(100 * (r["objective"] - best) / best for r in these)
            print(f"{family:6} {n:5d} {1e6 * rots['seconds']:10.1f} {1e3 * relax['seconds']:13.1f} "
                  f"{relax['products']:>8} {mode:>9} {gap:7.3f} "
                  f"{statistics.mean(r['improvements_second_half'] for r in these):17.1f} "
                  f"{max(r['peak_mib'] for r in these):8.0f}  {these[0]['method'].split(';')[0]}")
        for r in runs:
            if r.get("reference"):
                print(f"{'':6} {'':5} reference {r['mode']} {r['time']:g} s: gap "
                      f"{100 * (r['objective'] - best) / best:.3f} %, peak {r['peak_mib']:.0f} MiB, "
                      f"{r['method'].split(';')[0]}")
    print("\npeak memory of RoTS and the relaxation (MiB):")
    for r in rows:
        if r["kind"] in ("rots", "relaxation"):
            print(f"  {r['family']:6} n={r['n']:5d} {r['kind']:10} {r['peak_mib']:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--time", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--modes", nargs="+", default=["auto"])
    parser.add_argument("--reference-time", type=float, default=600.0)
    parser.add_argument("--reference-modes", nargs="+", default=["auto", "portfolio"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write every row to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    rows = []
    for n in args.sizes:
        for family in args.families:
            rows += rows_for(family, n, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    report(rows, args)


if __name__ == "__main__":
    main()
