"""QAPFlow (auto, balance, portfolio; one thread) side by side with the published BLS (Benlic & Hao 2013).

Builds BLS with ``../shared/peers/bls/build.sh`` and runs, one after the other (one core each, never two at
once), every solver at the same wall time on every instance: the QAPLIB instances of the reference folder with
n >= --min-n, and generated instances of each kind (taillard_a, taillard_b, grid_manhattan, ring_circulant, lipa)
at the sizes given, for --seeds seeds and each budget. Both stop early at the best-known value when there is one
(BLS: its own rule; MEZAN: ``target=``). The gap of a run is to the best-known value (QAPLIB, lipa's planted
optimum) or, for a generated instance without one, to the best objective any run found on it.

Prints, per budget: the mean gap per family and solver, and per instance the wins / ties / losses of each MEZAN
mode against BLS (mean over seeds; a tie is within 1e-9 relative). Cells are appended to the --out JSON as they
finish, and a run started again skips the cells already there (interrupt and resume freely).

    python bench/qap_vs_bls.py [--budgets 10,60] [--seeds 3] [--sizes 80,100,150] [--min-n 40]
                               [--kinds taillard_a,...] [--modes auto,balance,portfolio] [--names REGEX]
                               [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from mezan.qap import MODES, generate, read_qaplib, solve, write_qaplib

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
KINDS = ("taillard_a", "taillard_b", "grid_manhattan", "ring_circulant", "lipa")


def build_bls(out: Path) -> Path:
    subprocess.run(["bash", str(SHARED / "peers" / "bls" / "build.sh"), str(out)], check=True)
    return out


def generated(kind: str, n: int, seed: int):
    """(name, problem, known optimum or None) of a generated instance."""
    if kind == "lipa":
        problem, _, optimum = generate.lipa(n, seed=seed)
        return f"lipa{n}", problem, float(optimum)
    if kind == "grid_manhattan":
        rows = int(np.floor(np.sqrt(n)))
        while n % rows:
            rows -= 1
        return f"grid{n}", generate.grid_manhattan(rows, n // rows, seed=seed), None
    return f"{kind}{n}", getattr(generate, kind)(n, seed=seed), None


def family_of(name: str) -> str:
    """A QAPLIB instance's family: its letters, with Taillard's a/b kinds apart (tai80a -> tai_a)."""
    match = re.fullmatch(r"([a-z]+)\d+([a-z]?)", name)
    if match is None:
        return name
    letters, suffix = match.groups()
    return f"{letters}_{suffix}" if letters == "tai" and suffix else letters


def instances(args) -> list[tuple[str, str, object, float | None]]:
    """(family, name, problem, best known or None)."""
    out = []
    folder = Path(args.qaplib)
    bks = {}
    for line in (folder / "bks.csv").read_text().splitlines()[1:]:
        name, n, value = line.split(",")
        bks[name] = (int(n), float(value))
    for name, (n, value) in sorted(bks.items(), key=lambda item: (item[1][0], item[0])):
        if args.names is not None and not re.fullmatch(args.names, name):
            continue
        if n >= args.min_n and (folder / f"{name}.dat").exists():
            out.append((family_of(name), name, read_qaplib(folder / f"{name}.dat"), value))
    for kind in args.kinds:
        for n in args.sizes:
            name, problem, optimum = generated(kind, n, seed=1000 + n)
            out.append((kind, name, problem, optimum))
    return out


def run_bls(binary: Path, problem, budget: float, best_known: float | None) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        dat = Path(tmp) / "instance.dat"
        write_qaplib(dat, problem.A, problem.B)
        # BLS stops once ceil(CPU seconds) >= its limit, i.e. after limit - 1 s: limit = budget + 1 gives it the
        # same budget as MEZAN (its wall time is recorded and reported).
        text = f"{budget + 1:g}\n{int(best_known) if best_known is not None else 0}\n" + dat.read_text()
        started = time.perf_counter()
        done = subprocess.run([str(binary)], input=text, capture_output=True, text=True, timeout=budget * 3 + 60)
        wall = time.perf_counter() - started
    costs = re.findall(r"Solution cost\s+(-?[\d.]+)", done.stdout)
    if not costs:
        raise RuntimeError(f"BLS printed no solution: {done.stdout[-500:]} {done.stderr[-500:]}")
    return float(costs[-1]), wall


def run_mezan(problem, mode: str, budget: float, seed: int, best_known: float | None) -> tuple[float, float]:
    """One QAPFlow run on one thread: ``mode`` is a QAPFlow mode or, for comparisons, a single method."""
    choice = {"mode": mode} if mode in MODES else {"method": mode}
    r = solve(problem, None, time_limit=budget, seed=seed, threads=1, lower_bound=False, target=best_known, **choice)
    return float(r.objective), r.wall_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qaplib", default=str(SHARED / "qaplib"))
    parser.add_argument("--budgets", default="10,60")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sizes", default="80,100,150")
    parser.add_argument("--min-n", type=int, default=40)
    parser.add_argument("--names", default=None, help="regular expression: only the QAPLIB instances it matches")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--modes", default="auto,balance,portfolio")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "qap_vs_bls.json"))
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.kinds = [k for k in args.kinds.split(",") if k]
    budgets = [float(b) for b in args.budgets.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    out = Path(args.out)
    cells = json.loads(out.read_text()) if out.exists() else []
    done = {(c["instance"], c["solver"], c["budget"], c["seed"]) for c in cells}
    binary = build_bls(Path(tempfile.gettempdir()) / "mezan-bench-bls")
    todo = instances(args)
    total = len(todo) * len(budgets) * args.seeds * (len(modes) + 1)
    count = 0
    for budget in budgets:
        for family, name, problem, best_known in todo:
            for seed in range(args.seeds):
                for solver in [*modes, "bls"]:
                    count += 1
                    if (name, solver, budget, seed) in done:
                        continue
                    if solver == "bls":
                        objective, wall = run_bls(binary, problem, budget, best_known)
                    else:
                        objective, wall = run_mezan(problem, solver, budget, seed, best_known)
                    cells.append({"family": family, "instance": name, "n": problem.n, "solver": solver,
                                  "budget": budget, "seed": seed, "objective": objective, "wall_time": wall,
                                  "best_known": best_known})
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(json.dumps(cells, indent=1))
                    print(f"[{count}/{total}] {budget:g}s {name} seed {seed} {solver}: {objective:.10g} "
                          f"({wall:.1f} s)", flush=True)
    report(cells, budgets, modes)


def references(cells: list[dict]) -> dict[str, float]:
    """Per instance, the objective gaps are measured to: its best-known value, or the best any run found (lower
    still, if a run beat the best known)."""
    reference: dict[str, float] = {}
    for c in cells:
        ref = c["best_known"] if c["best_known"] is not None else c["objective"]
        reference[c["instance"]] = min(reference.get(c["instance"], ref), ref, c["objective"])
    return reference


def gap(objective: float, reference: float) -> float:
    """Relative gap in percent."""
    return 100.0 * (objective - reference) / max(abs(reference), 1e-12)


def report(cells: list[dict], budgets: list[float], modes: list[str]) -> None:
    reference = references(cells)
    solvers = [*modes, "bls"]
    for budget in budgets:
        gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
        per_instance: dict[tuple[str, str], list[float]] = defaultdict(list)
        families: dict[str, str] = {}
        for c in cells:
            if c["budget"] != budget:
                continue
            g = gap(c["objective"], reference[c["instance"]])
            gaps[(c["family"], c["solver"])].append(g)
            per_instance[(c["instance"], c["solver"])].append(g)
            families[c["instance"]] = c["family"]
        print(f"\n== {budget:g} s: mean gap (%) per family ==")
        print(f"{'family':<16}" + "".join(f"{s:>12}" for s in solvers))
        for family in sorted(set(families.values())):
            row = [np.mean(gaps[(family, s)]) if gaps[(family, s)] else float("nan") for s in solvers]
            print(f"{family:<16}" + "".join(f"{v:>12.4f}" for v in row))
        overall = [np.mean([g for (f, s2), v in gaps.items() if s2 == s for g in v]) for s in solvers]
        print(f"{'ALL':<16}" + "".join(f"{v:>12.4f}" for v in overall))
        for mode in modes:
            wins = ties = losses = 0
            for name in families:
                a, b = per_instance.get((name, mode)), per_instance.get((name, "bls"))
                if not a or not b:
                    continue
                ma, mb = np.mean(a), np.mean(b)
                if abs(ma - mb) <= 1e-7:
                    ties += 1
                elif ma < mb:
                    wins += 1
                else:
                    losses += 1
            print(f"{mode} vs BLS at {budget:g} s: {wins} wins, {ties} ties, {losses} losses")


if __name__ == "__main__":
    main()
