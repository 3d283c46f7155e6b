"""MetaFlow: ``mezan.solve`` picks a solver, runs it and learns from it; plus an ASlib-style selector evaluation.

1. ``mezan.solve`` on a bundled instance: MetaFlow chooses among the registered QAP solvers, records the solve in
   its store and says why it chose; a second solve of the same instance starts from the stored best solution.
2. ``MetaFlow.race``: two solvers on one instance, both recorded, Elo ratings updated.
3. ASlib's way of scoring an algorithm selector (cross-validated picks, SBS, VBS, m̂) on a small synthetic
   instance x algorithm cost matrix, with MetaFlow's selectors.

The store lives in a temporary MEZAN_HOME, so this never touches ~/.mezan.
Run: python examples/meta/metaflow.py   (a few seconds)
"""

import os
import tempfile
import textwrap

import numpy as np

import mezan
from mezan.meta import MetaFlow
from mezan.meta.aslib import Score
from mezan.meta.selectors import cross_validate
from mezan.qap import load

with tempfile.TemporaryDirectory() as home:
    os.environ["MEZAN_HOME"] = home  # MetaFlow's store: $MEZAN_HOME/mezan.db (read when a store is opened)

    problem = load("rou12")
    for attempt in (1, 2):
        res = mezan.solve(problem, time_limit=0.5, seed=attempt)
        print(f"solve {attempt}: {res.solver} -> {res.objective} ({res.status}; best known {problem.best_known})")
        print(textwrap.fill(res.explanation, 110, initial_indent="  why: ", subsequent_indent="       "))

    flow = MetaFlow(policy="thompson", seed=0)
    race = flow.race(load("had12"), ["qap.rots", "qap.anneal"], time_limit=0.2)
    print("\nrace on had12, ranking:", race.ranking)
    print("Elo ratings (rating, games):", {s: (round(r), g) for s, (r, g) in flow.ratings().items()})
    print("next pick for scr12:", flow.select(load("scr12"))[0])

# ASlib-style evaluation on synthetic data: 120 instances, 2 features, 3 algorithms whose cost depends on them.
rng = np.random.default_rng(0)
features = rng.random((120, 2))
hardness = rng.gamma(2.0, 1.0, (120, 1))  # some instances are hard for every algorithm
costs = hardness * np.column_stack([np.where(features[:, 0] < 0.5, 1.0, 6.0),  # "a": good when f0 < 0.5
                                    np.where(features[:, 1] > 0.5, 1.5, 5.0),  # "b": good when f1 > 0.5
                                    np.full(120, 3.0)])                        # "c": always middling
folds = np.arange(120) % 5 + 1  # 5-fold cross-validation, as a scenario's cv.arff gives it
picks, _ = cross_validate(features, costs, folds, approach="knn", seed=0)  # each fold predicted by the others
mean = costs.mean(axis=0)
score = Score(selector=costs[np.arange(120), picks].mean(), sbs=mean.min(), vbs=costs.min(axis=1).mean(),
              sbs_algorithm="abc"[mean.argmin()])
print(f"\nselector {score.selector:.3f}, single best ({score.sbs_algorithm}) {score.sbs:.3f}, "
      f"virtual best {score.vbs:.3f}: m_hat = {score.m_hat:.3f} (0 = VBS, 1 = SBS)")
