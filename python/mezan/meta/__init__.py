"""MetaFlow: learn which solver works for which instance, online and offline, and keep what was learned.

>>> from mezan.meta import MetaFlow
>>> flow = MetaFlow(store=":memory:", seed=0)
>>> name, why = flow.select(problem)          # a QAPProblem
>>> flow.race(problem, ["qapflow.enhanced", "qapflow.hybrid"], time_limit=1.0)

Modules: :mod:`~mezan.meta.features` (instance features), :mod:`~mezan.meta.reward`,
:mod:`~mezan.meta.policies` (UCB1, Thompson, greedy, random), :mod:`~mezan.meta.elo` (ratings,
Swiss pairings), :mod:`~mezan.meta.model` (k-means clustering, per-solver forests),
:mod:`~mezan.meta.metaflow` (the :class:`MetaFlow` API), :mod:`~mezan.meta.simulate` (regret of the
policies on a recorded outcome matrix) and :mod:`~mezan.meta.metasolve` (``mezan.solve``).
"""

from __future__ import annotations

from typing import Any

from mezan.extras import require

require("mezan.meta (MetaFlow)", "meta")  # before the imports that need it

from mezan.meta.features import features, register_features
from mezan.meta.metaflow import QAP_CANDIDATES, MetaFlow, RaceResult, TournamentResult, TrainReport
from mezan.meta.metasolve import solve
from mezan.store import Store


def cluster_of(problem: Any, store: Store | str | None = None) -> int:
    """Return the problem's cluster in the store's clustering of its problem type.

    Parameters
    ----------
    problem : object
        A problem record (e.g. a :class:`mezan.problems.QAPProblem`).
    store : Store, str or None, optional
        The store holding the clustering: a :class:`mezan.store.Store`, a path, ``":memory:"``, or None for the
        default ``$MEZAN_HOME/mezan.db`` (opened, and created when missing).

    Returns
    -------
    int
        The cluster index; 0 before a clustering of the type is fitted (or when the stored one is refused).

    Raises
    ------
    mezan.store.StoreError
        When the store cannot be opened, or (:class:`mezan.store.StoredDataError`) when the stored history row of
        this problem, read for its features once a clustering exists, fails its checks.
    mezan.errors.InvalidProblemError
        When the problem's type has no feature extractor and the record has no ``n``.
    """
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
