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

from mezan.meta.features import features, register_features
from mezan.meta.metaflow import QAP_CANDIDATES, MetaFlow, RaceResult, TournamentResult, TrainReport
from mezan.meta.solve import solve
from mezan.store import Store


def cluster_of(problem: Any, store: Store | str | None = None) -> int:
    """The problem's cluster in the store's clustering (0 before one is fitted)."""
    return MetaFlow(store).cluster_of(problem)


__all__ = [
    "QAP_CANDIDATES",
    "MetaFlow",
    "RaceResult",
    "TournamentResult",
    "TrainReport",
    "cluster_of",
    "features",
    "register_features",
    "solve",
]
