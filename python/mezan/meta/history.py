"""The stored history as evidence: rewards of the recorded solves, bandit statistics, instances and their clusters.

Pure reads of the store (:class:`mezan.store.Store`): nothing here writes. A solve counts as evidence of its
solver's skill unless it was warm-started from a stored solution (:mod:`mezan.meta.memory`); every solve's
objective is still a valid reference for the others. Rewards are recomputed against today's references, which a
later solve may have moved (:mod:`mezan.meta.reward`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from mezan.meta import memory
from mezan.meta.features import sense_of, vector
from mezan.meta.model import Clustering
from mezan.meta.policies import Arm
from mezan.meta.reward import reference, reward
from mezan.store import Store


def evidence(store: Store, kind: str, records: list[Any] | None = None) -> list[Any]:
    """The recorded solves of a type (``records``, when already read) that count as evidence of their solver's
    skill (not warm-started)."""
    warm = memory.warm_started(store)
    return [r for r in (store.solves(problem_type=kind) if records is None else records) if r.id not in warm]


def rewarded_history(store: Store, kind: str, *, gap_scale: float, time_weight: float) -> list[tuple[Any, float]]:
    """(record, reward) of every solve of a type that counts as evidence, rewarded against today's references."""
    sense = sense_of(kind)
    better = min if sense == "min" else max
    best_seen: dict[str, float] = {}
    records = store.solves(problem_type=kind)  # read (and checked) once
    for r in records:  # every solve's objective is a valid reference
        if r.objective is not None:
            best_seen[r.fingerprint] = better(best_seen.get(r.fingerprint, r.objective), r.objective)
    out = []
    for r in evidence(store, kind, records):
        ref, _ = reference(r.best_known, best_seen.get(r.fingerprint), r.lower_bound if sense == "min" else None)
        out.append((r, reward(r.objective, ref, sense=sense, gap_scale=gap_scale, wall_time=r.wall_time,
                              time_limit=r.time_limit, time_weight=time_weight)))
    return out


def cluster_labels(clustering: Clustering | None, records: list[Any]) -> dict[str, int]:
    """Cluster of every fingerprint among the records (0 without a clustering), in one batch."""
    features_of = {r.fingerprint: r.features for r in records}
    keys = list(features_of)
    if clustering is None:
        return dict.fromkeys(keys, 0)
    labels = clustering.predict_many(np.array([vector(features_of[k], clustering.feature_names) for k in keys]))
    return dict(zip(keys, labels.tolist(), strict=True))


def arms(history: list[tuple[Any, float]], clustering: Clustering | None, cluster: int | None) -> dict[str, Arm]:
    """Bandit statistics per solver over rewarded records, in one cluster of ``clustering`` or all (None)."""
    labels = cluster_labels(clustering, [r for r, _ in history]) if cluster is not None else {}
    out: dict[str, Arm] = defaultdict(Arm)
    for record, value in history:
        if cluster is None or labels[record.fingerprint] == cluster:
            out[record.solver].add(value)
    return dict(out)


def instances(store: Store, kind: str) -> dict[str, dict[str, float]]:
    """Features of every recorded instance of a type, by fingerprint (the latest row's)."""
    return {r.fingerprint: r.features for r in store.solves(problem_type=kind)}


__all__ = ["arms", "cluster_labels", "evidence", "instances", "rewarded_history"]
