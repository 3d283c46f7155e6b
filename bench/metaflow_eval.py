"""MetaFlow evaluation: offline selector (leave-one-family-out) and online regret of the bandit policies.

1. Outcome matrix (``--build``, cached in bench/results/metaflow_outcomes.json): every candidate of
   MetaFlow's QAP portfolio (mezan.meta.QAP_CANDIDATES: tabu, annealing, relaxation-first and
   memetic) on every ../shared/qaplib instance with 12 <= n <= 80 and on generated instances of five
   structural kinds up to n = 150 (Taillard-a uniform, Taillard-b clustered/sparse, Manhattan grids
   with sparse and with dense flows, circulant flows on a ring) and Li–Pardalos-style instances;
   --time seconds per run, one thread, --cell-seeds runs per cell (seeds 0, 1, ...; a cell's gap and
   reward are means over them, so that luck does not make a virtual best solver), --jobs instances
   in parallel. The reference of an instance is its best-known value, else the best objective any
   run found; the reward is mezan.meta.reward's exp(-gap / 0.01).
2. Offline: MetaFlow's ASlib selector (mezan.meta.selectors, automatic choice of regression, pairwise or kNN
   by inner cross-validation) fitted as MetaFlow.train() fits it (costs 1 - reward), its picks scored by their mean
   gap, by a seeded 10-fold cross-validation (ASlib's protocol) and
   leave-one-family-out; and leave-one-family-out — for each family, MetaFlow's reward model (per-solver
   random forests on the instance features) is trained on the other families' rows and picks a mode for each instance of
   the held-out family. Reported: mean gap % of the single best solver (SBS: the mode with the lowest
   mean gap over all instances), of the virtual best solver (VBS: the best mode per instance), and of
   the selector; the fraction of the SBS-VBS gap closed = (SBS - selector) / (SBS - VBS).
3. Online: a stream of --steps instances drawn from the matrix; UCB1, Thompson, greedy and random per
   k-means cluster (mezan.meta.simulate); cumulative regret against the per-instance oracle, its
   growth in the second half against the first, and a plot (bench/results/metaflow_regret.png). For
   scale, what hindsight allows: the best single solver, the best solver of each family and of each
   of the simulator's clusters, and the last plus one play of every solver in every cluster (no
   per-cluster policy can end below the cluster line; one that must try each solver once cannot end
   below the last).

    python bench/metaflow_eval.py [--build] [--time 1] [--jobs 2 | --scheduler ADDRESS] [--steps 1000] [--qaplib DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
PER_SIZE = 4  # generated instances per kind and size


def family(name: str) -> str:
    if name.startswith("gen_"):
        return name.rsplit("_", 2)[0]
    base = re.match(r"[a-z]+", name).group(0)
    return base + name[-1] if base == "tai" else base


def generated():
    """(name, problem) of the generated instances: five structural kinds at sizes up to 150 (QAPLIB's
    instances here stop at n = 80), plus Li–Pardalos-style instances with a
    known optimum. PER_SIZE instances of each kind and size."""
    from mezan.qap import generate

    grids = ((6, 8), (8, 10), (10, 12), (12, 12))
    kinds = {
        "taillard_a": [(n, lambda n, s: generate.taillard_a(n, seed=s)) for n in (30, 60, 100, 150)],
        "taillard_b": [(n, lambda n, s: generate.taillard_b(n, seed=s)) for n in (40, 80, 120, 150)],
        "grid": [(r * c, lambda n, s, r=r, c=c: generate.grid_manhattan(r, c, seed=s)) for r, c in grids],
        "grid_dense": [(r * c, lambda n, s, r=r, c=c: generate.grid_manhattan(r, c, seed=s, density=1.0))
                       for r, c in grids],
        "ring": [(n, lambda n, s: generate.ring_circulant(n, seed=s)) for n in (40, 64, 96, 150)],
    }
    out = []
    for kind, sizes in kinds.items():
        for n, make in sizes:
            out += [(f"gen_{kind}_{n}_{s}", make(n, 100 + s)) for s in range(PER_SIZE)]
    for n in (30, 50, 70):
        for s in range(PER_SIZE):
            problem, _, value = generate.lipa(n, seed=300 + s)
            out.append((f"gen_lipa_{n}_{s}", dataclasses.replace(problem, best_known=float(value))))
    return out


def run_instance(task):
    name, path, time_limit, seeds = task
    from mezan.meta import QAP_CANDIDATES
    from mezan.meta.features import features
    from mezan.qap import read_qaplib, solve
    from mezan.qap.solve import method_of

    problem = read_qaplib(path) if path else dict(generated())[name]
    objectives = {}
    for solver in QAP_CANDIDATES:
        objectives[solver] = [float(solve(problem, None, method=method_of(solver), time_limit=time_limit, seed=seed,
                                          lower_bound=False).objective) for seed in range(seeds)]
    return {"name": name, "family": family(name), "n": problem.n, "best_known": problem.best_known,
            "features": features(problem), "objectives": objectives}


def build(args) -> dict:
    from mezan.meta import QAP_CANDIDATES
    from mezan.qap import read_qaplib

    tasks = []
    for path in sorted(args.qaplib.glob("*.dat")):
        n = read_qaplib(path).n
        if 12 <= n <= 80:
            tasks.append((path.stem, str(path), args.time, args.cell_seeds))
    tasks += [(name, None, args.time, args.cell_seeds) for name, _ in generated()]
    from mezan.dist import LocalExecutor, make_executor

    executor = make_executor(args.scheduler) if args.scheduler else LocalExecutor(args.jobs, processes=True)
    print(f"building the outcome matrix: {len(tasks)} instances x {len(QAP_CANDIDATES)} modes x {args.cell_seeds} "
          f"seeds x {args.time:g} s on {executor.describe()}")
    try:
        submitted = [executor.submit(run_instance, task) for task in tasks]
        for k, _ in enumerate(executor.as_completed(submitted), 1):  # progress in completion order
            if k % 10 == 0:
                print(f"  {k}/{len(tasks)} instances", flush=True)
        rows = [task.result() for task in submitted]  # the matrix in instance order, whoever finished first
    finally:
        executor.close()
    data = {"time_limit": args.time, "seeds": args.cell_seeds, "solvers": list(QAP_CANDIDATES), "rows": rows}
    args.outcomes.write_text(json.dumps(data, indent=1, default=float))
    return data


def gaps_and_rewards(data: dict) -> tuple[np.ndarray, np.ndarray]:
    from mezan.meta.reward import reward

    solvers = data["solvers"]
    gaps, rewards = [], []
    for row in data["rows"]:  # a cell is the mean over its seeds (one objective per seed)
        runs = [np.atleast_1d(row["objectives"][s]) for s in solvers]
        ref = row["best_known"] if row["best_known"] is not None else min(float(r.min()) for r in runs)
        gaps.append([float(np.mean([100.0 * max(0.0, o - ref) / max(abs(ref), 1e-12) for o in r])) for r in runs])
        rewards.append([float(np.mean([reward(o, ref) for o in r])) for r in runs])
    return np.array(gaps), np.array(rewards)


def offline(data: dict) -> dict:
    from mezan.meta.features import QAP_FEATURES, vector
    from mezan.meta.model import Selector

    solvers = data["solvers"]
    rows = data["rows"]
    gaps, rewards = gaps_and_rewards(data)
    X = np.array([vector(r["features"]) for r in rows])
    families = np.array([r["family"] for r in rows])
    sbs = int(np.argmin(gaps.mean(axis=0)))
    chosen = np.empty(len(rows), dtype=int)
    for fam in sorted(set(families)):
        train = families != fam
        Xt = np.repeat(X[train], len(solvers), axis=0)
        names = [s for _ in range(int(train.sum())) for s in solvers]
        selector = Selector(QAP_FEATURES, seed=0).fit(Xt, names, rewards[train].reshape(-1))
        for i in np.nonzero(~train)[0]:
            predicted = selector.predict(X[i], solvers)
            chosen[i] = solvers.index(max(predicted, key=lambda s: predicted[s]))
    sbs_gap = float(gaps[:, sbs].mean())
    vbs_gap = float(gaps.min(axis=1).mean())
    sel_gap = float(gaps[np.arange(len(rows)), chosen].mean())
    closed = (sbs_gap - sel_gap) / (sbs_gap - vbs_gap) if sbs_gap > vbs_gap else math.nan
    per_family = {}
    for fam in sorted(set(families)):
        m = families == fam
        per_family[fam] = {"instances": int(m.sum()), "sbs": float(gaps[m, sbs].mean()),
                           "vbs": float(gaps[m].min(axis=1).mean()),
                           "selector": float(gaps[m][np.arange(int(m.sum())), chosen[m]].mean())}
    return {"sbs_solver": solvers[sbs], "sbs_gap": sbs_gap, "vbs_gap": vbs_gap, "selector_gap": sel_gap,
            "gap_closed": closed, "mean_gap_per_solver": dict(zip(solvers, gaps.mean(axis=0).tolist(), strict=True)),
            "per_family": per_family}


def algorithm_selector(data: dict, folds: int = 10, seed: int = 0) -> dict:
    """MetaFlow's ASlib selector (mezan.meta.selectors, approach auto) as MetaFlow.train() fits it — on the costs
    1 - reward — with its picks scored by their mean gap, evaluated by
    ASlib's protocol — a seeded 10-fold cross-validation — and leave-one-family-out: gap closed per protocol."""
    from mezan.meta.features import vector
    from mezan.meta.selectors import cross_validate

    gaps, rewards = gaps_and_rewards(data)
    X = np.array([vector(r["features"]) for r in data["rows"]])
    families = np.array([r["family"] for r in data["rows"]])
    costs = 1.0 - rewards  # what MetaFlow.train() fits on: bounded per instance, so it transfers across families
    sbs, vbs = float(gaps.mean(axis=0).min()), float(gaps.min(axis=1).mean())
    out = {"sbs_gap": sbs, "vbs_gap": vbs}
    protocols = {"10-fold": 1 + np.random.default_rng(seed).permutation(len(gaps)) % folds,
                 "leave-one-family-out": np.unique(families, return_inverse=True)[1] + 1}
    for name, split in protocols.items():
        picks, used = cross_validate(X, costs, split, approach="auto", seed=seed, log_costs=False)
        chosen = float(gaps[np.arange(len(gaps)), picks].mean())
        out[name] = {"selector_gap": chosen, "gap_closed": (sbs - chosen) / (sbs - vbs) if sbs > vbs else math.nan,
                     "approaches": sorted(set(used))}
    return out


def online(data: dict, steps: int, seeds: int) -> dict:
    from mezan.meta.features import QAP_FEATURES, vector
    from mezan.meta.model import Clustering
    from mezan.meta.simulate import Outcomes, plot_regret, simulate_regret

    _, rewards = gaps_and_rewards(data)
    outcomes = Outcomes([r["name"] for r in data["rows"]], data["solvers"], rewards,
                        np.array([vector(r["features"]) for r in data["rows"]]), [r["family"] for r in data["rows"]])
    runs = [simulate_regret(outcomes, steps=steps, seed=s) for s in range(seeds)]
    curves = {p: np.median([run[p] for run in runs], axis=0) for p in runs[0]}
    plot_regret(curves, RESULTS / "metaflow_regret.png",
                title=f"Cumulative regret, {steps} instances (median of {seeds} streams)")
    half = steps // 2
    out = {p: {"final": float(c[-1]), "first_half": float(c[half - 1]), "second_half": float(c[-1] - c[half - 1]),
               "ratio_to_random": float(c[-1] / curves["random"][-1])} for p, c in curves.items()}
    # Hindsight references for the same expected stream (per step x steps): the best single solver, and
    # the best solver of each instance family — what a perfect per-family policy could reach.
    oracle = rewards.max(axis=1)
    families = np.array([r["family"] for r in data["rows"]])
    per_family = np.zeros(len(oracle))
    for fam in set(families):
        m = families == fam
        per_family[m] = oracle[m] - rewards[m][:, rewards[m].mean(axis=0).argmax()]
    # The floor of any per-cluster policy on the simulator's own k-means clusters: the best solver of
    # each cluster in hindsight, and that plus one play of every solver in every cluster at its mean cost.
    per_cluster, explore_once = [], []
    for s in range(seeds):
        labels = Clustering(QAP_FEATURES, seed=s).fit(outcomes.features).pipeline.predict(outcomes.features)
        rate = cost = 0.0
        for c in set(labels):
            m = labels == c
            means = rewards[m].mean(axis=0)
            rate += m.sum() / len(oracle) * (oracle[m].mean() - means.max())
            cost += float((means.max() - means).sum())
        per_cluster.append(rate)
        explore_once.append(rate + cost / steps)
    random_rate = float(np.mean(oracle - rewards.mean(axis=1)))
    for name, rate in (("best single solver (hindsight)", float(np.min(np.mean(oracle[:, None] - rewards, axis=0)))),
                       ("best solver per family (hindsight)", float(per_family.mean())),
                       ("best solver per cluster (hindsight)", float(np.median(per_cluster))),
                       ("per cluster + each solver once", float(np.median(explore_once)))):
        out[name] = {"final": rate * steps, "ratio_to_random": rate / random_rate}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qaplib", type=Path, default=REPO.parent / "shared" / "qaplib")
    parser.add_argument("--build", action="store_true", help="(re)build the outcome matrix")
    parser.add_argument("--time", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=2, help="local processes building the matrix")
    parser.add_argument("--scheduler", default=None, help="build the matrix on this Dask scheduler instead")
    parser.add_argument("--cell-seeds", type=int, default=4, help="runs (seeds) averaged per cell (--build)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=5, help="streams replayed for the online part")
    parser.add_argument("--outcomes", type=Path, default=RESULTS / "metaflow_outcomes.json")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = build(args) if args.build or not args.outcomes.exists() else json.loads(args.outcomes.read_text())
    print(f"\noutcome matrix: {len(data['rows'])} instances x {len(data['solvers'])} modes, "
          f"{data['time_limit']:g} s each, mean of {data.get('seeds', 1)} seeds per cell")
    off = offline(data)
    print("\nmean gap % per mode: " + ", ".join(f"{s} {g:.3f}" for s, g in off["mean_gap_per_solver"].items()))
    print(f"{'family':<16} {'inst':>4} {'SBS %':>8} {'VBS %':>8} {'selector %':>10}")
    for fam, f in off["per_family"].items():
        print(f"{fam:<16} {f['instances']:>4} {f['sbs']:>8.3f} {f['vbs']:>8.3f} {f['selector']:>10.3f}")
    print(f"\nleave-one-family-out: SBS ({off['sbs_solver']}) {off['sbs_gap']:.4f} %, VBS {off['vbs_gap']:.4f} %, "
          f"selector {off['selector_gap']:.4f} % -> SBS-VBS gap closed: {100 * off['gap_closed']:.1f} %")
    aslib_style = algorithm_selector(data)
    for protocol in ("10-fold", "leave-one-family-out"):
        r = aslib_style[protocol]
        print(f"ASlib selector (auto: {', '.join(r['approaches'])}), {protocol}: selector {r['selector_gap']:.4f} % "
              f"-> SBS-VBS gap closed: {100 * r['gap_closed']:.1f} %")
    on = online(data, args.steps, args.seeds)
    print(f"\nonline, {args.steps} instances, median of {args.seeds} streams: cumulative regret")
    for p, r in on.items():
        halves = f"first half {r['first_half']:.2f}, second half {r['second_half']:.2f}; " if "first_half" in r else ""
        print(f"  {p:<36} {r['final']:8.2f}  ({halves}{100 * r['ratio_to_random']:.1f} % of random)")
    print(f"plot: {RESULTS / 'metaflow_regret.png'}")
    (RESULTS / "metaflow_eval.json").write_text(json.dumps({"offline": off, "aslib_selector": aslib_style,
                                                                "online": on}, indent=1))


if __name__ == "__main__":
    main()
