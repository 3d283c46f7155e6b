"""The executor layer (mezan.dist) on a sweep: the same independent QAP solves run three ways.

--cells solves of --time seconds each (``--solver`` through ``mezan.registry.solve_wire``, on QAPLIB instances with
30 <= n <= 60 in turn, cell i with seed i) run (a) one after the other (``LocalExecutor(1)``), (b) on
``LocalExecutor(2)`` and (c) on ``DaskExecutor(local_cluster=2)``. Per way and repeat it measures:

* start-up: making the executor (for Dask, starting the LocalCluster); reported apart, not in the sweep wall time;
* overhead: --probes tiny solves (0.01 s) submitted one at a time, each waited for; the median over them of the
  client-observed round-trip time minus the solve's own ``wall_time`` (this pass also warms the workers up);
* wall: from submitting the first cell to the last one's result, all cells submitted at once.

Prints medians over --repeats, the speed-up of (b) and (c) over (a) (target >= 1.8x) and the overhead of (b) and (c)
(target <= 20 ms), with PASS/FAIL; each run is appended to --out.

    python bench/dist_sweep.py [--cells 40] [--time 1.0] [--repeats 3] [--probes 100] [--solver qap.rots]
                               [--instances tai30a,nug30,...] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from mezan.dist import DaskExecutor, LocalExecutor
from mezan.problems import to_wire
from mezan.qap import generate, read_qaplib
from mezan.registry import solve_wire

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
WAYS = {
    "local-1": lambda: LocalExecutor(1),
    "local-2": lambda: LocalExecutor(2),
    "dask-2": lambda: DaskExecutor(local_cluster=2, quiet=True),
}
SPEEDUP_TARGET, OVERHEAD_TARGET_MS = 1.8, 20.0


def wires(args) -> list[dict]:
    """The wire forms of the sweep's instances (generated taillard_a n=50 when the QAPLIB folder is missing)."""
    folder = Path(args.qaplib)
    names = [n for n in args.instances.split(",") if n]
    if all((folder / f"{n}.dat").exists() for n in names):
        return [to_wire(read_qaplib(folder / f"{n}.dat")) for n in names]
    return [to_wire(generate.taillard_a(50, seed=s)) for s in range(len(names))]


def probe(ex, solver: str, wire: dict, count: int) -> float:
    """Median scheduling overhead (ms) of ``count`` tiny solves submitted one at a time (after 5 warm-ups)."""
    overheads = []
    for i in range(count + 5):
        started = time.perf_counter()
        result = ex.submit(solve_wire, solver, wire, 0.01, i).result()
        if i >= 5:
            overheads.append(time.perf_counter() - started - result.wall_time)
    return 1000.0 * statistics.median(overheads)


def sweep(ex, solver: str, cells: list[dict], budget: float) -> tuple[float, list]:
    """(wall seconds, results in cell order) of all cells submitted at once."""
    started = time.perf_counter()
    tasks = [ex.submit(solve_wire, solver, wire, budget, seed) for seed, wire in enumerate(cells)]
    for _ in ex.as_completed(tasks):
        pass
    wall = time.perf_counter() - started
    return wall, [t.result() for t in tasks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qaplib", default=str(SHARED / "qaplib"))
    parser.add_argument("--instances", default="tai30a,nug30,tai40a,tai50a,wil50,tai60a")
    parser.add_argument("--solver", default="qap.rots")
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--time", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "dist_sweep.json"))
    args = parser.parse_args()
    pool = wires(args)
    cells = [pool[i % len(pool)] for i in range(args.cells)]
    repeats: list[dict] = []
    for r in range(args.repeats):
        row = {}
        for way, make in WAYS.items():
            started = time.perf_counter()
            with make() as ex:
                startup = time.perf_counter() - started
                where = ex.describe()
                overhead = probe(ex, args.solver, pool[0], args.probes)
                wall, results = sweep(ex, args.solver, cells, args.time)
            busy = sum(res.wall_time for res in results)
            row[way] = {"startup": startup, "overhead_ms": overhead, "wall": wall, "busy": busy,
                        "efficiency": busy / (wall * where["threads"]), "executor": where,
                        "mean_objective": statistics.fmean(res.objective for res in results)}
            print(f"repeat {r + 1}/{args.repeats} {way}: wall {wall:.2f} s, start-up {startup:.2f} s, "
                  f"overhead {overhead:.2f} ms, efficiency {row[way]['efficiency']:.2f}", flush=True)
        repeats.append(row)

    def med(way: str, field: str) -> float:
        return statistics.median(rep[way][field] for rep in repeats)

    summary = {way: {f: med(way, f) for f in ("startup", "overhead_ms", "wall", "efficiency")} for way in WAYS}
    for way in ("local-2", "dask-2"):
        summary[way]["speedup"] = statistics.median(rep["local-1"]["wall"] / rep[way]["wall"] for rep in repeats)
        summary[way]["pass_speedup"] = summary[way]["speedup"] >= SPEEDUP_TARGET
        summary[way]["pass_overhead"] = summary[way]["overhead_ms"] <= OVERHEAD_TARGET_MS
    out = Path(args.out)
    runs = json.loads(out.read_text()) if out.exists() else []
    runs.append({"date": time.strftime("%Y-%m-%d %H:%M:%S"), "args": vars(args),
                 "repeats": repeats, "summary": summary})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(runs, indent=1))

    print(f"\n{args.cells} cells x {args.time:g} s of {args.solver}, medians over {args.repeats} repeats")
    print(f"{'executor':<10}{'start-up s':>12}{'wall s':>10}{'speed-up':>10}{'overhead ms':>13}{'efficiency':>12}")
    for way, s in summary.items():
        speedup = f"{s['speedup']:.2f}x" if "speedup" in s else "1.00x"
        print(f"{way:<10}{s['startup']:>12.2f}{s['wall']:>10.2f}{speedup:>10}{s['overhead_ms']:>13.2f}"
              f"{s['efficiency']:>12.2f}")
    for way in ("local-2", "dask-2"):
        s = summary[way]
        print(f"{way}: speed-up {s['speedup']:.2f}x (target >= {SPEEDUP_TARGET}x) "
              f"{'PASS' if s['pass_speedup'] else 'FAIL'}; overhead {s['overhead_ms']:.2f} ms "
              f"(target <= {OVERHEAD_TARGET_MS:g} ms) {'PASS' if s['pass_overhead'] else 'FAIL'}")
    print(f"saved to {out}")


if __name__ == "__main__":
    main()
