"""Ratings: solvers and instances on one Elo scale, derived from the stored history.

Two kinds of game feed the same scale (:mod:`mezan.meta.elo` for the update rule):

* a **solve game** for every recorded solve: the solver against the instance. The solver wins (score 1)
  when its objective reaches the instance's reference within :data:`REACH_TOLERANCE` (relative) — the
  best-known value when the problem carries one, else the best objective recorded for the instance so
  far, this solve included — and the instance wins otherwise (no objective: the instance wins). An
  instance's rating is therefore a difficulty estimate: instances that solvers fail to reach climb.
* a **race game** for every pair of solvers in a race (same instance, budget and seed): the lower
  objective wins (:func:`mezan.meta.elo.rate_race`).

Instances are players named ``instance:<fingerprint>`` in the same scopes as the solvers
(``<type>:global`` and ``<type>:cluster:<k>``); :func:`solvers_only` and :func:`instances_only` split a
scope. Ratings are a cache of the history: :func:`replay` rebuilds every scope of a type from the
stored solves, in the order they were recorded, with the same games the online updates played.

:func:`predict_difficulty` rates an unseen instance from the rated ones: the inverse-distance weighted
mean rating of its k nearest rated neighbours in standardised feature space.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np

from mezan.meta import elo

INSTANCE = "instance:"
"""Prefix of an instance's player name in a rating scope."""

REACH_TOLERANCE = 1e-6
"""Relative tolerance within which a solve reaches the instance's reference (a win for the solver)."""

NEIGHBOURS = 5


def instance_player(fingerprint: str) -> str:
    return INSTANCE + fingerprint


def is_instance(player: str) -> bool:
    return player.startswith(INSTANCE)


def solvers_only(ratings: dict[str, tuple[float, int]]) -> dict[str, tuple[float, int]]:
    return {p: v for p, v in ratings.items() if not is_instance(p)}


def instances_only(ratings: dict[str, tuple[float, int]]) -> dict[str, tuple[float, int]]:
    """Instance players of a scope, keyed by fingerprint."""
    return {p[len(INSTANCE):]: v for p, v in ratings.items() if is_instance(p)}


def reached(loss: float, reference_loss: float | None) -> bool:
    """Whether a solve's loss (objective, negated when maximising; inf without one) reaches the reference."""
    if not math.isfinite(loss):
        return False
    if reference_loss is None or not math.isfinite(reference_loss):
        return True  # nothing to reach yet: this solve sets the reference
    return loss <= reference_loss + REACH_TOLERANCE * max(1.0, abs(reference_loss))


def rate_solve(ratings: dict[str, tuple[float, int]], solver: str, fingerprint: str, won: bool, *,
               k: float = elo.DEFAULT_K, initial: float = elo.DEFAULT_RATING) -> dict[str, tuple[float, int]]:
    """Ratings after one solve game (the solver won or the instance did); returns a new dict."""
    player = instance_player(fingerprint)
    (r_s, g_s), (r_i, g_i) = ratings.get(solver, (initial, 0)), ratings.get(player, (initial, 0))
    new_s, new_i = elo.update(r_s, r_i, 1.0 if won else 0.0, k)
    out = dict(ratings)
    out[solver], out[player] = (new_s, g_s + 1), (new_i, g_i + 1)
    return out


def loss(objective: float | None, sense: str) -> float:
    """What games compare (lower wins): the objective, negated when maximising; inf without one."""
    if objective is None:
        return math.inf
    return float(objective) if sense == "min" else -float(objective)


def replay(records: Sequence[Any], sense: str, scopes_of: Callable[[Any], list[str]], *,
           skip: AbstractSet[int] = frozenset(), k: float = elo.DEFAULT_K,
           initial: float = elo.DEFAULT_RATING) -> dict[str, dict[str, tuple[float, int]]]:
    """Every rating scope rebuilt from the stored solves of one type, in recorded order: a solve game per record,
    and each race's games right after its last member (as the online updates play them). ``scopes_of(record)``
    names the scopes a record's games count in; records whose id is in ``skip`` (warm-started solves) play no
    game but still set the instance's reference."""
    scopes: dict[str, dict[str, tuple[float, int]]] = defaultdict(dict)
    best: dict[str, float] = {}
    last_of_race = {r.race: i for i, r in enumerate(records) if r.race is not None}
    races: dict[str, dict[str, float]] = defaultdict(dict)
    for i, r in enumerate(records):
        value = loss(r.objective, sense)
        if math.isfinite(value):
            best[r.fingerprint] = min(best.get(r.fingerprint, value), value)
        target = loss(r.best_known, sense) if r.best_known is not None else best.get(r.fingerprint)
        if r.id in skip:
            continue
        won = reached(value, target)
        names = scopes_of(r)
        for scope in names:
            scopes[scope] = rate_solve(scopes[scope], r.solver, r.fingerprint, won, k=k, initial=initial)
        if r.race is not None:
            races[r.race][r.solver] = value
            if last_of_race[r.race] == i and len(races[r.race]) >= 2:
                for scope in names:
                    scopes[scope] = elo.rate_race(scopes[scope], races[r.race], k=k, initial=initial)
    return dict(scopes)


@dataclass(frozen=True)
class Difficulty:
    """An instance's difficulty on the Elo scale of its type.

    rating : float
        Its Elo rating (solvers' ratings are on the same scale: a solver rated 200 above an instance is
        expected to reach it about 76 % of the time).
    games : int
        Solve games it has played (0 for a predicted or prior rating).
    source : {"rated", "predicted", "prior"}
        Rated from its own games, predicted from the ``neighbours`` nearest rated instances, or the initial
        rating when no instance of the type is rated yet.
    neighbours : int
        Rated instances the prediction used.
    """

    rating: float
    games: int
    source: str
    neighbours: int = 0

    def describe(self) -> str:
        if self.source == "rated":
            return f"instance difficulty: Elo {self.rating:.0f} over {self.games} solve(s)"
        if self.source == "predicted":
            return (f"instance difficulty: Elo {self.rating:.0f}, predicted from the {self.neighbours} most similar "
                    f"rated instance(s)")
        return f"instance difficulty: Elo {self.rating:.0f} (prior: no rated instance of this type yet)"


def predict_difficulty(x: np.ndarray, rated_features: np.ndarray, rated_ratings: np.ndarray, *,
                       neighbours: int = NEIGHBOURS) -> tuple[float, int]:
    """(rating, neighbours used): the inverse-distance weighted mean rating of the nearest rated instances, with
    each feature standardised over the rated ones (a constant feature is ignored). An exact match gets its
    rating."""
    X = np.asarray(rated_features, dtype=float)
    mean, std = X.mean(axis=0), X.std(axis=0)
    scale = np.where(std > 0, std, np.inf)
    d = np.sqrt((((X - mean) / scale - (np.asarray(x, dtype=float) - mean) / scale) ** 2).sum(axis=1))
    order = np.argsort(d, kind="stable")[:max(1, min(neighbours, len(d)))]
    weights = 1.0 / (d[order] + 1e-9)
    return float(np.dot(weights, rated_ratings[order]) / weights.sum()), len(order)


__all__ = ["INSTANCE", "REACH_TOLERANCE", "Difficulty", "instance_player", "instances_only", "is_instance", "loss",
           "predict_difficulty", "rate_solve", "reached", "replay", "solvers_only"]
