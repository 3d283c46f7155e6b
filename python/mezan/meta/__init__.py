"""MetaFlow: learn which solver works for which instance, online and offline, and keep what was learned.

>>> from mezan.meta import MetaFlow
>>> flow = MetaFlow(store=":memory:", seed=0)
>>> name, why = flow.select(problem)          # a QAPProblem
>>> flow.race(problem, ["qapflow.enhanced", "qapflow.hybrid"], time_limit=1.0)

Modules: :mod:`~mezan.meta.features` (instance features), :mod:`~mezan.meta.reward`,
:mod:`~mezan.meta.policies` (UCB1, Thompson, greedy, random), :mod:`~mezan.meta.elo` (ratings,
Swiss pairings), :mod:`~mezan.meta.model` (k-means clustering, per-solver forests),
:mod:`~mezan.meta.metaflow` (the :class:`MetaFlow` API), :mod:`~mezan.meta.simulate` (regret of the
policies on a recorded outcome matrix) and :mod:`~mezan.meta.solve` (``mezan.solve``).
"""

from __future__ import annotations

from typing import Any

from mezan import registry
from mezan.meta.features import features, register_features
from mezan.meta.metaflow import QAP_CANDIDATES, MetaFlow, RaceResult, TournamentResult, TrainReport
from mezan.meta.solve import solve
from mezan.store import Store, default_path


def cluster_of(problem: Any, store: Store | str | None = None) -> int:
    """The problem's cluster in the store's clustering (0 before one is fitted)."""
    return MetaFlow(store).cluster_of(problem)


def _qap_advice(problem: Any) -> tuple[str, str] | None:
    """QAPFlow's auto/instance_adaptive ask this: the trained selector's choice, if one is stored."""
    if not default_path().exists():
        return None
    store = Store()
    if store.artifact_time("selector:qap") is None:
        return None
    name, why = MetaFlow(store, policy="model", seed=0).select(problem, MetaFlow(store).candidates(problem))
    return name, f"{why} (asked by QAPFlow)"


registry.set_advisor("qap", _qap_advice)

__all__ = ["MetaFlow", "QAP_CANDIDATES", "RaceResult", "TournamentResult", "TrainReport", "cluster_of", "features",
           "register_features", "solve"]
