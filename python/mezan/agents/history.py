"""What MEZAN has seen: OptiBench's recorded runs (with their anytime traces) arranged by instance, for the agents.

Each registered instance with runs carries its features (computed at registration); a run's *gap* at time t is the
gap of the best objective its trace had reached by t, to the instance's reference (its best-known value, else the
best objective any recorded run found on it). Similar instances are the nearest by standardised Euclidean distance
over the features both have (log1p of the size, so n = 80 and n = 100 are close and n = 12 is not).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan.bench.registry import Registry


@dataclass
class Known:
    """A registered instance with runs: its features and, per solver, the runs' (budget, final gap) — and, loaded on
    first use (the traces are most of the history's bytes), the runs' (budget, gap trace, final gap)."""

    problem_id: str
    name: str
    problem_type: str
    family: str
    features: dict[str, float]
    finals: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    load: Callable[[], dict[str, list[tuple[float, list[tuple[float, float]], float]]]] | None = field(
        default=None, repr=False)
    _runs: dict[str, list[tuple[float, list[tuple[float, float]], float]]] | None = field(default=None, repr=False)

    @property
    def runs(self) -> dict[str, list[tuple[float, list[tuple[float, float]], float]]]:
        if self._runs is None:
            self._runs = self.load() if self.load is not None else {}
        return self._runs

    def mean_gap(self, solver: str) -> float:
        return float(np.mean([final for _, final in self.finals[solver]]))

    def best(self) -> str:
        """The solver with the lowest mean final gap here (ties: by name)."""
        return min(self.finals, key=lambda s: (self.mean_gap(s), s))

    def gap_at(self, solver: str, t: float, horizon: float | None = None) -> list[float]:
        """The gap each run of ``solver`` with a budget of at least ``horizon`` (default ``t``) had reached by time
        ``t``. One horizon for every ``t`` of a curve keeps the same runs along it, so the curve never rises."""
        out = []
        for budget, trace, final in self.runs.get(solver, []):
            if budget + 1e-9 < max(t, horizon or 0.0):
                continue
            seen = [g for time, g in trace if time <= t]
            out.append(seen[-1] if seen else (final if t >= budget else math.inf))
        return out


def _scaled(features: dict[str, float]) -> dict[str, float]:
    out = {}
    for k, v in features.items():
        if v is None or not isinstance(v, (int, float)) or not math.isfinite(v):
            continue
        out[k] = math.log1p(v) if k == "n" else float(v)
    return out


def _budget(run: dict[str, Any]) -> float:
    return float(run["budget"] or run["wall_time"])


class History:
    """Every recorded run of the registry, by instance."""

    def __init__(self, registry: Registry, problem_type: str | None = None) -> None:
        from mezan.bench.analysis import family_of
        from mezan.meta.features import sense_of
        from mezan.meta.ratings import loss

        self.registry = registry
        rows = {r["problem_id"]: r for r in registry.instances()
                if problem_type is None or r["problem_type"] == problem_type}
        by_instance: dict[str, list[dict[str, Any]]] = {}
        for run in registry.runs(traces=False):
            if run["problem_id"] in rows and run["objective"] is not None:
                by_instance.setdefault(run["problem_id"], []).append(run)
        self.known: dict[str, Known] = {}
        for pid, runs in by_instance.items():
            row = rows[pid]
            sense = sense_of(row["problem_type"])
            ref = (loss(row["best_known"], sense) if row["best_known"] is not None else
                   min(loss(r["objective"], sense) for r in runs))

            def gap(value: float, ref: float = ref) -> float:
                return max(0.0, (value - ref) / max(abs(ref), 1e-12)) if value != ref else 0.0

            def load(pid: str = pid, gap: Callable[[float], float] = gap, sense: str = sense) -> dict[str, Any]:
                out: dict[str, list[tuple[float, list[tuple[float, float]], float]]] = {}
                for r in registry.runs(problem_id=pid):
                    if r["objective"] is None:
                        continue
                    final = gap(loss(r["objective"], sense))
                    trace = [(float(t), gap(loss(v, sense))) for t, v in r["trace"]] or [(float(r["wall_time"]),
                                                                                            final)]
                    out.setdefault(r["solver"].split(":")[0], []).append((_budget(r), trace, final))
                return out

            known = Known(pid, row["name"], row["problem_type"], family_of(row), row["features"], load=load)
            for r in runs:  # the registered name: configurations pool
                known.finals.setdefault(r["solver"].split(":")[0], []).append(
                    (_budget(r), gap(loss(r["objective"], sense))))
            self.known[pid] = known

    def __len__(self) -> int:
        return len(self.known)

    def solvers(self) -> list[str]:
        return sorted({s for k in self.known.values() for s in k.finals})

    def nearest(self, features: dict[str, float], k: int = 5, *, exclude: str | None = None,
                problem_type: str | None = None) -> list[tuple[Known, float]]:
        """The ``k`` known instances most similar to ``features`` with their distances (nearest first)."""
        pool = [known for known in self.known.values() if known.problem_id != exclude
                and (problem_type is None or known.problem_type == problem_type)]
        if not pool:
            return []
        target = _scaled(features)
        names = sorted(set(target).intersection(*[set(_scaled(p.features)) for p in pool]))
        if not names:
            return [(p, math.inf) for p in pool[:k]]
        X = np.array([[_scaled(p.features)[n] for n in names] for p in pool])
        scale = X.std(axis=0)
        scale[scale < 1e-12] = 1.0
        distance = np.sqrt((((X - np.array([target[n] for n in names])) / scale) ** 2).sum(axis=1))
        order = np.argsort(distance, kind="stable")[:k]
        return [(pool[i], float(distance[i])) for i in order]


__all__ = ["History", "Known"]
