"""OptiBench: a small reproducible experiment and the statistics that decide between solvers.

Runs three QAP solvers (robust tabu search, simulated annealing, one first-improvement descent), each capped at 300
iterations, on 8 generated Taillard-a instances (n = 12), records every run in a registry, then analyses them:
mean gap with bootstrap confidence intervals, the Friedman test and pairwise Wilcoxon-Holm tests with A12.

The registry here is an in-memory store; ``Registry(Store())`` would keep it in $MEZAN_HOME/mezan.db, where
``mezan bench analyze|report|reproduce`` find it. Run: python examples/optibench/experiment.py   (a few seconds)
"""

from mezan.bench import Plan, Registry, analyze, load, run_experiment
from mezan.store import Store

registry = Registry(Store(":memory:"))
plan = Plan(["generated:taillard_a:12:0-7"],          # instance spec: kind, size n, seeds 0..7
            ["rots", "anneal", "local_first"],         # QAP methods by short name (or registered solver names)
            seeds=1, time_limit=10.0, max_iter=300)    # the iteration cap makes every run reproducible
experiment = run_experiment(plan, registry=registry)
print(f"experiment {experiment.id}: {experiment.design}")

result = analyze(load(registry, experiment.id))

print(f"\n{'solver':<30} {'mean gap':>9} {'95% CI':>17} {'success':>8}")
for solver, s in result["solvers"].items():  # gaps to the best-known value, else to the best any run found
    low, high = s["mean_gap_ci"]
    print(f"{solver:<30} {s['mean_gap']:>9.2%} {f'[{low:.2%}, {high:.2%}]':>17} {s['success_rate']:>8.0%}")

friedman = result["friedman"]
ranks = ", ".join(f"{r:.2f}" for r in friedman["average_ranks"])
print(f"\nFriedman: {friedman['verdict']} (average ranks {ranks}; Nemenyi CD {friedman['critical_difference']:.2f})")
for pair in result["pairwise"]:
    print(f"{pair['a']} vs {pair['b']}: {pair['verdict']}")
