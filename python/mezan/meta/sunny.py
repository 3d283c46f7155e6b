"""SUNNY schedules: a per-instance schedule of algorithms from the instance's nearest training instances.

SUNNY (Amadini, Gabbrielli & Mauro, "SUNNY: a Lazy Portfolio Approach for Constraint Solving", TPLP 14(4-5), 2014)
does not pick one algorithm: it runs several, one after the other, in slots of the instance's budget. For an
instance, with N its k nearest training instances (imputed, standardised features, as the other selectors):

1. S = the set of at most ``max_size`` algorithms that solves the most instances of N (an instance is solved by an
   algorithm whose cost is within the cutoff); ties go to the smaller set, then to the lower total time on N
   (each instance at its fastest member of S, an unsolved one at the cutoff).
2. The budget is cut into (sum over s in S of the instances of N that s solves) + (those S leaves unsolved) equal
   parts: each s in S gets as many parts as the instances it solves, and the backup — the algorithm with the
   lowest total cost on N — gets the unsolved ones' parts (added to its own slot when it is in S).
3. The slots run in order of their algorithm's mean time on N (each instance capped at the cutoff), fastest first.

A run of the schedule ends at the first slot whose algorithm solves the instance within the slot
(:func:`mezan.meta.aslib.plan_costs` charges the slots before it). Cost: O(k C(m, <= max_size)) per instance for m
algorithms. On solution-quality data (no runtimes to schedule) the schedule is one slot: the backup. Without any
feature, every training instance is a neighbour (one static schedule for all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from mezan.errors import InvalidParameterError
from mezan.meta.selectors import _prepare, nearest, standardise

Schedule = tuple[tuple[int, float], ...]
"""(algorithm index, seconds) slots, run in order."""


def schedule_for(costs: np.ndarray, cutoff: float, budget: float, max_size: int = 3) -> Schedule:
    """SUNNY's schedule (see the module docstring) for the neighbourhood ``costs`` (k x m: runtimes, a timeout
    above ``cutoff``), splitting ``budget`` seconds."""
    m = costs.shape[1]
    solved = costs <= cutoff
    capped = np.minimum(costs, cutoff)
    backup = int(np.argmin(costs.sum(axis=0)))
    candidates = [a for a in range(m) if solved[:, a].any()]
    best: tuple[Any, ...] | None = None
    for size in range(1, min(max_size, len(candidates)) + 1):
        for subset in combinations(candidates, size):
            members = list(subset)
            covered = solved[:, members].any(axis=1)
            time = float(np.where(covered, capped[:, members].min(axis=1), cutoff).sum())
            key = (-int(covered.sum()), size, time)
            if best is None or key < best[0]:
                best = (key, members, covered)
    if best is None:  # no algorithm solves any neighbour: the backup alone
        return ((backup, float(budget)),)
    _, members, covered = best
    parts = {a: int(solved[:, a].sum()) for a in members}
    parts[backup] = parts.get(backup, 0) + int((~covered).sum())
    unit = budget / sum(parts.values())
    order = sorted(parts, key=lambda a: (float(capped[:, a].mean()), a))
    return tuple((a, parts[a] * unit) for a in order if parts[a] > 0)


@dataclass
class SunnySchedules:
    """``SunnySchedules(neighbours=16, max_size=3).fit(features, costs, cutoff).schedules(features, budget)``."""

    neighbours: int | None = 16  # None: the square root of the training instances
    max_size: int = 3
    _prep: Any = field(default=None, repr=False)
    _train: Any = field(default=None, repr=False)
    _cutoff: float | None = None

    def fit(self, features: np.ndarray, costs: np.ndarray, cutoff: float | None) -> SunnySchedules:
        """``cutoff``: the runtime cutoff (None for solution-quality costs: one-slot schedules)."""
        features, costs = np.asarray(features, dtype=float), np.asarray(costs, dtype=float)
        if features.ndim != 2 or costs.ndim != 2 or len(features) != len(costs) or len(costs) == 0:
            raise InvalidParameterError(f"features (instances x features) and costs (instances x algorithms) must "
                                        f"have one row per instance, at least one; got {features.shape} and "
                                        f"{costs.shape}")
        if (self.neighbours is not None and self.neighbours < 1) or self.max_size < 1:
            raise InvalidParameterError(f"neighbours and max_size must be at least 1; got {self.neighbours} and "
                                        f"{self.max_size}")
        self._prep = _prepare(features)
        self._train = (standardise(self._prep, features), costs)
        self._cutoff = cutoff
        return self

    def schedules(self, features: np.ndarray, budget: float | None = None) -> list[Schedule]:
        """One schedule per row of ``features``, splitting ``budget`` seconds (default: the cutoff)."""
        if self._train is None:
            raise InvalidParameterError("fit SunnySchedules before asking for schedules")
        x = standardise(self._prep, np.asarray(features, dtype=float))
        train_x, costs = self._train
        k = min(self.neighbours, len(train_x)) if self.neighbours else max(1, round(len(train_x) ** 0.5))
        total = self._cutoff if budget is None else budget
        if train_x.shape[1] == 0:  # no feature: all training instances are every row's neighbours, one schedule
            return [self._schedule(costs, total)] * len(x)
        return [self._schedule(costs[row], total) for row in nearest(x, train_x, k)]

    def _schedule(self, costs: np.ndarray, total: float | None) -> Schedule:
        """The schedule of one neighbourhood (its rows of the training costs)."""
        if self._cutoff is None:
            return ((int(np.argmin(costs.sum(axis=0))), 0.0),)
        return schedule_for(costs, self._cutoff, total, self.max_size)


__all__ = ["Schedule", "SunnySchedules", "schedule_for"]
