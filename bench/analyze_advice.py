"""Does DeepThink's advice pay? Following its plan vs QAPFlow's ``auto`` on a stream of generated instances, at the
same total time.

A stream of ``--instances`` (200) generated QAPs from five families (taillard_a, taillard_b, grid_manhattan,
ring_circulant, lipa; n drawn from ``--sizes``; seeds never reused), in a shuffled order:

1. **History**: the first ``--history`` (50) instances are run through OptiBench with every candidate solver for
   ``--history-time`` seconds (3 x ``--time``; one run each, anytime traces kept): what MEZAN has seen before the
   advice starts.
2. **Stream**: ``auto`` gets ``--time`` seconds on every later instance. The plan's arm gets the same total: a time
   account credited ``--time`` per instance, from which DeepThink's own wall time and every run's wall time are
   paid. On each instance DeepThink (``mezan.agents.deepthink``, its default threshold, candidates = the same
   solvers) is asked with ``time_limit`` = what the account holds (at most ``--history-time``, as far as history
   can predict), and its plan — solver and budget, the knee of the similar instances' anytime curves — is run as
   given. Time the knee saves on instances where more time buys nothing is spent where it still pays. Both arms'
   runs are recorded in the registry, so the history grows as the stream goes.

Reported: the mean gap of each arm (gap to the best objective either arm, or the instance's known optimum, reached),
overall and per family; wins/ties/losses; the Wilcoxon signed-rank p-value; the total time each arm used.
Target: following the plan has the lower mean gap. One run at a time (threads = 1).

    python bench/analyze_advice.py [--instances 200] [--history 50] [--time 1.0] [--sizes 35,45,55]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FAMILIES = ("taillard_a", "taillard_b", "grid_manhattan", "ring_circulant", "lipa")
CANDIDATES = ("qapflow.auto", "qap.rots", "qap.breakout", "qap.iterated")


def stream(count: int, sizes: list[int], seed: int) -> list[tuple[str, int, int]]:
    """(family, n, generator seed): families in equal shares, shuffled; sizes drawn; seeds distinct."""
    rng = np.random.default_rng(seed)
    kinds = [FAMILIES[i % len(FAMILIES)] for i in range(count)]
    rng.shuffle(kinds)
    return [(kind, int(rng.choice(sizes)), 100_000 + seed * 10_000 + i) for i, kind in enumerate(kinds)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--history", type=int, default=50)
    parser.add_argument("--time", type=float, default=1.0, help="seconds per instance (auto; the plan on average)")
    parser.add_argument("--history-time", type=float, default=None, help="seconds per history run (3 x --time)")
    parser.add_argument("--sizes", default="35,45,55")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--threshold", type=float, default=None,
                        help="DeepThink's knee threshold (default: DeepThink's own, 0.001 of gap per step)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", default=None, help="registry file (default: a fresh one in bench/results)")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "analyze_advice.json"))
    args = parser.parse_args()

    from scipy.stats import wilcoxon

    from mezan.agents.deepthink import deepthink
    from mezan.bench.experiments import Plan, run_experiment
    from mezan.bench.instances import Instance, generated
    from mezan.bench.registry import Registry
    from mezan.store import Store

    candidates = [c for c in args.candidates.split(",") if c]
    store_path = Path(args.store or REPO / "bench" / "results" / "analyze_advice.db")
    if args.store is None and store_path.exists():
        store_path.unlink()
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(store_path)
    registry = Registry(store)
    items = []
    for kind, n, s in stream(args.instances, [int(x) for x in args.sizes.split(",")], args.seed):
        items.append(Instance(generated(kind, n, s), f"{kind}{n}s{s}", "generated", generator=f"{kind}:{n}",
                              generator_seed=s))
    started = time.perf_counter()

    def run(instance: Instance, solver: str, budget: float, name: str) -> dict:
        plan = Plan([instance.name], [f"{solver}:threads=1"], time_limit=budget, instances=[instance])
        experiment = run_experiment(plan, registry=registry, name=name)
        return registry.runs(experiment.id)[0]

    horizon = args.history_time or 3 * args.time
    for k, instance in enumerate(items[:args.history]):
        for solver in candidates:
            run(instance, solver, horizon, f"history:{k}:{solver}")
        print(f"history {k + 1}/{args.history} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    # Warm up on the history itself (analysis only, nothing runs): imports (scikit-learn for the attributions) and
    # first-use costs are paid once per process, not per instance.
    deepthink(items[0].problem, store=store, candidates=candidates, time_limit=horizon)

    rows, account = [], 0.0
    options = {} if args.threshold is None else {"threshold": args.threshold}
    for k, instance in enumerate(items[args.history:]):
        account += args.time
        began = time.perf_counter()
        advice = deepthink(instance.problem, store=store, candidates=candidates,
                           time_limit=max(0.05, min(horizon, account)), seed=args.seed + k, **options)
        thinking = time.perf_counter() - began
        account -= thinking
        plan = advice["plan"]
        budget = max(0.05, min(plan["budget"], account))
        followed = run(instance, plan["solver"], budget, f"stream:{k}:plan")
        account -= followed["wall_time"]
        auto = run(instance, "qapflow.auto", args.time, f"stream:{k}:auto")
        values = [followed["objective"], auto["objective"]]
        reference = min(values + ([instance.best_known] if instance.best_known is not None else []))
        gap = [(v - reference) / max(abs(reference), 1e-12) for v in values]
        rows.append({"instance": instance.name, "family": instance.generator.split(":")[0], "n": instance.size,
                     "solver": plan["solver"], "budget": budget, "thinking": thinking,
                     "source": advice["optimizer"]["source"] if advice["optimizer"] else None,
                     "plan_gap": gap[0], "auto_gap": gap[1], "plan_time": thinking + followed["wall_time"],
                     "auto_time": auto["wall_time"], "account": account})
        r = rows[-1]
        print(f"{k + 1:3d} {r['instance']:<26} plan {r['solver']:<14} {budget:5.2f} s (+{thinking:.2f} s; left "
              f"{account:5.2f} s) gap {r['plan_gap']:.4%}  auto {r['auto_gap']:.4%}", file=sys.stderr)

    plan_gap = np.array([r["plan_gap"] for r in rows])
    auto_gap = np.array([r["auto_gap"] for r in rows])
    wins = int((plan_gap < auto_gap - 1e-12).sum())
    losses = int((plan_gap > auto_gap + 1e-12).sum())
    ties = len(rows) - wins - losses
    p = float(wilcoxon(plan_gap, auto_gap, zero_method="zsplit").pvalue) if wins + losses else 1.0
    print(f"\n{len(rows)} instances after {args.history} of history, {args.time:g} s each "
          f"(candidates: {', '.join(candidates)})")
    print(f"{'family':<16}{'n':>4}{'plan':>10}{'auto':>10}   plan's choices")
    for family in FAMILIES:
        mine = [r for r in rows if r["family"] == family]
        if not mine:
            continue
        chosen: dict[str, int] = {}
        for r in mine:
            chosen[r["solver"]] = chosen.get(r["solver"], 0) + 1
        print(f"{family:<16}{len(mine):>4}{np.mean([r['plan_gap'] for r in mine]):>10.4%}"
              f"{np.mean([r['auto_gap'] for r in mine]):>10.4%}   "
              + ", ".join(f"{s} {c}" for s, c in sorted(chosen.items(), key=lambda x: -x[1])))
    print(f"{'all':<16}{len(rows):>4}{plan_gap.mean():>10.4%}{auto_gap.mean():>10.4%}")
    print(f"plan vs auto: {wins} wins, {ties} ties, {losses} losses; Wilcoxon p = {p:.3g}; total time plan "
          f"{sum(r['plan_time'] for r in rows):.1f} s (of which DeepThink {sum(r['thinking'] for r in rows):.1f} s), "
          f"auto {sum(r['auto_time'] for r in rows):.1f} s")
    met = plan_gap.mean() < auto_gap.mean()
    print(f"target (plan's mean gap lower than auto's): {'met' if met else 'NOT met'} "
          f"({time.perf_counter() - started:.0f} s)")
    Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows, "plan_mean_gap": float(plan_gap.mean()),
                                          "auto_mean_gap": float(auto_gap.mean()), "wins": wins, "ties": ties,
                                          "losses": losses, "wilcoxon_p": p, "met": bool(met)}, indent=1))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
