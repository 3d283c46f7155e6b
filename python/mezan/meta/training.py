"""Offline learning on the stored history: the instance clustering, the reward model and the per-instance selector.

Each is fitted on request (``mezan meta recluster`` / ``train``, or :func:`reclustering_due` after recording) and
stored as a signed artifact (:meth:`mezan.store.Store.put_artifact`), never as a side effect of recording:

- :func:`fit_clusters`: k-means over the instances' features (:class:`mezan.meta.model.Clustering`), the scopes
  of the per-cluster bandits and ratings.
- :func:`train`: the clustering, a reward model per solver (:class:`mezan.meta.model.Selector`, the ``model``
  policy's predicted reward) and :func:`fit_per_instance`.
- :func:`fit_per_instance`: the ASlib selector (:class:`mezan.meta.selectors.AlgorithmSelector`, the one measured
  on ASlib) on the largest complete (instance x solver) matrix of mean rewards the history holds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from mezan.errors import InvalidParameterError
from mezan.meta.features import feature_names, vector
from mezan.meta.model import Clustering, Selector
from mezan.meta.selectors import AlgorithmSelector
from mezan.store import Store, StoredDataError

MIN_SELECTOR_INSTANCES = 10
"""Instances, each solved by every solver of the matrix, below which train() fits no per-instance selector."""

FIRST_CLUSTERING = 4
"""Distinct instances at which the first clustering is fitted; it is refitted each time their number doubles."""


@dataclass(frozen=True)
class TrainReport:
    """What :meth:`MetaFlow.train <mezan.meta.MetaFlow.train>` fitted, and on how much history.

    Parameters
    ----------
    instances : int
        Distinct instances the clustering was fitted on.
    observations : int
        Recorded solves (with their rewards) the models were trained on.
    clusters : int
        Clusters of the fitted clustering.
    solvers : tuple of str
        The solvers of the reward model, sorted.
    importances : tuple of tuple
        The most important features of the reward model (at most five) as ``(feature, importance)``, most important
        first.
    selector_approach : str or None, optional
        The approach the per-instance algorithm selector chose; None when there was too little data to fit one.
    selector_instances : int, default 0
        Instances of the complete (instance x solver) matrix the per-instance selector was fitted on.
    """

    instances: int
    observations: int
    clusters: int
    solvers: tuple[str, ...]
    importances: tuple[tuple[str, float], ...]
    selector_approach: str | None = None  # the per-instance algorithm selector's approach (None: too little data)
    selector_instances: int = 0  # instances of the complete (instance x solver) matrix it was fitted on


@dataclass(frozen=True)
class PerInstanceSelector:
    """MetaFlow's per-instance algorithm selector (:class:`mezan.meta.selectors.AlgorithmSelector`, the one measured
    on ASlib) fitted on the stored history: costs are 1 - mean reward per (instance, solver)."""

    feature_names: tuple[str, ...]
    solvers: tuple[str, ...]
    model: AlgorithmSelector
    instances: int


def load(store: Store, name: str, kind: type, refused: list[str] | None = None) -> Any:
    """A stored model, or None when there is none — or when the store refuses it (:class:`StoredDataError`: unsigned,
    altered, from an older MEZAN): a model is derived from the history, so a refused one counts as missing, is said
    in ``refused``, and is refitted by the next fit (the history itself is never treated so lightly)."""
    try:
        return store.get_artifact(name, kind)
    except StoredDataError as exc:
        if refused is not None and str(exc) not in refused:
            refused.append(str(exc))
        return None


def clustering(store: Store, kind: str, refused: list[str] | None = None) -> Clustering | None:
    """The stored clustering of a problem type, or None before the first (or when refused: see :func:`load`)."""
    return load(store, f"clustering:{kind}", Clustering, refused)


def reclustering_due(current: Clustering | None, instances: int) -> bool:
    """Whether a type's clustering (``current``, None before the first) should be refitted now that its history holds
    ``instances`` distinct instances: :data:`FIRST_CLUSTERING` of them and no clustering yet, or twice as many as the
    current one was fitted on."""
    return instances >= FIRST_CLUSTERING and (current is None or instances >= 2 * current.instances)


def fit_clusters(store: Store, kind: str, instances: dict[str, dict[str, float]], seed: int) -> Clustering:
    """Fit and store the clustering of a type's instances (fingerprint -> features)."""
    names = feature_names(kind)
    fitted = Clustering(names, seed=seed).fit(np.array([vector(f, names) for f in instances.values()]))
    store.put_artifact(f"clustering:{kind}", fitted)
    return fitted


def fit_reward_model(store: Store, kind: str, rows: list[tuple[Any, float]], seed: int) -> Selector:
    """Fit and store the per-solver reward model on (record, reward) rows."""
    if not rows:
        raise InvalidParameterError(f"no recorded {kind} solves to train on")
    names = feature_names(kind)
    selector = Selector(names, seed=seed)
    selector.fit(np.array([vector(r.features, names) for r, _ in rows]), [r.solver for r, _ in rows],
                 np.array([v for _, v in rows]))
    store.put_artifact(f"selector:{kind}", selector)
    return selector


def fit_per_instance(store: Store, kind: str, rows: list[tuple[Any, float]], seed: int) -> PerInstanceSelector | None:
    """The ASlib selector on the largest complete (instance x solver) matrix of mean rewards: solvers that cover the
    fewest instances are dropped until at least :data:`MIN_SELECTOR_INSTANCES` instances have a solve by every
    remaining solver (at least two). Stored; None (and any stored one removed) when there is no such matrix."""
    rewards: dict[tuple[str, str], list[float]] = defaultdict(list)
    features_of: dict[str, dict[str, float]] = {}
    for record, value in rows:
        rewards[(record.fingerprint, record.solver)].append(value)
        features_of[record.fingerprint] = record.features
    solvers = sorted({s for _, s in rewards})
    while len(solvers) >= 2:
        complete = [i for i in features_of if all((i, s) in rewards for s in solvers)]
        if len(complete) >= MIN_SELECTOR_INSTANCES:
            break
        solvers.remove(min(solvers, key=lambda s: (sum((i, s) in rewards for i in features_of), s)))
    else:
        store.delete_artifact(f"per_instance_selector:{kind}")
        return None
    names = feature_names(kind)
    X = np.array([vector(features_of[i], names) for i in complete])
    costs = np.array([[1.0 - float(np.mean(rewards[(i, s)])) for s in solvers] for i in complete])
    model = AlgorithmSelector("auto", seed=seed, log_costs=False).fit(X, costs)
    fitted = PerInstanceSelector(tuple(names), tuple(solvers), model, len(complete))
    store.put_artifact(f"per_instance_selector:{kind}", fitted)
    return fitted


__all__ = ["FIRST_CLUSTERING", "MIN_SELECTOR_INSTANCES", "PerInstanceSelector", "TrainReport", "clustering",
           "fit_clusters", "fit_per_instance", "fit_reward_model", "load", "reclustering_due"]
