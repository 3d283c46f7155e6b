"""Agents: DeepThink's advice before a solve, then an ATLAS study that finds when one solver beats another.

1. DeepThink 3+1 on a bundled instance: the Analyzer, Optimizer and Validator report on it, the Synthesizer makes a
   plan (solver, budget, what to report); ``run=True`` executes the plan and verifies the result.
2. ATLAS on a synthetic portfolio where solver A beats B exactly when feature f2 > 0.5: the agents run the study,
   turn the wins into rules and test each rule on fresh instances (confirmed / refuted / inconclusive).

Everything goes to an in-memory store (its blackboard holds every post of both). Run:
python examples/agents/deepthink_atlas.py   (a few seconds)
"""

from mezan.agents.atlas import run_study
from mezan.agents.deepthink import deepthink
from mezan.agents.planted import PlantedPortfolio
from mezan.qap import instances
from mezan.store import Store

store = Store(":memory:")

# 1. DeepThink before the solve (no history in this store: it says so and follows MetaFlow's selector)
problem = instances.load("had12")
advice = deepthink(problem, store=store, time_limit=1.0, run=True)
plan = advice["plan"]
print(f"DeepThink on {problem.name}: solver {plan['solver']}, budget {plan['budget']} s, seeds {plan['seeds']}")
for line in plan["explanation"]:
    print("  -", line)
print("  Validator:", advice["validator"]["certify"])
done = advice["result"]  # the plan, executed and checked
print(f"  ran it: objective {done['objective']} ({done['status']}, best known {problem.best_known}), "
      f"checks passed: {done['checks']['passed']}")

# 2. An ATLAS study on the planted portfolio
study = run_study(PlantedPortfolio(instances=100, seed=0), ["A", "B"], seeds=1, fresh=12, store=store)
print(f"\nATLAS study of A vs B on {study['design']['instances']} instances; hypotheses and their tests:")
for h in study["hypotheses"]:
    print(f"  {h['text']:<28} {h['verdict']:<12} {h['reason']}")
