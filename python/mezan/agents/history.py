"""What MEZAN has seen: OptiBench's recorded runs (with their anytime traces) arranged by instance, for the agents.

Each registered instance with runs carries its features (computed at registration); a run's *gap* at time t is the
gap of the best objective its trace had reached by t, to the instance's reference (its best-known value, else the
best objective any recorded run found on it). Similar instances are the nearest by standardised Euclidean distance
over the features both have (log1p of the size, so n = 80 and n = 100 are close and n = 12 is not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan.bench.registry import Registry


@dataclass
class Known:
    """A registered instance with runs: its features and, per solver, the runs' (budget, gap trace, final gap)."""

    problem_id: str
    name: str
    problem_type: str
    family: str
    features: dict[str, float]
    runs: dict[str, list[tuple[float, list[tuple[float, float]], float]]] = field(default_factory=dict)

    def gap_at(self, solver: str, t: float) -> list[float]:
        """The gap each run of ``solver`` with a budget of at least ``t`` had reached by time ``t``."""
        out = []
        for budget, trace, final in self.runs.get(solver, []):
            if budget + 1e-9 < t:
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
        for run in registry.runs():
            if run["problem_id"] in rows:
                by_instance.setdefault(run["problem_id"], []).append(run)
        self.known: dict[str, Known] = {}
        for pid, runs in by_instance.items():
            row = rows[pid]
            sense = sense_of(row["problem_type"])
            found = [loss(r["objective"], sense) for r in runs if r["objective"] is not None]
            if not found:
                continue
            ref = loss(row["best_known"], sense) if row["best_known"] is not None else min(found)

            def gap(value: float, ref: float = ref) -> float:
                return max(0.0, (value - ref) / max(abs(ref), 1e-12)) if value != ref else 0.0

            known = Known(pid, row["name"], row["problem_type"], family_of(row), row["features"])
            for r in runs:
                if r["objective"] is None:
                    continue
                final = gap(loss(r["objective"], sense))
                trace = [(float(t), gap(loss(v, sense))) for t, v in r["trace"]] or [(float(r["wall_time"]), final)]
                solver = r["solver"].split(":")[0]  # the registered name; configurations pool
                known.runs.setdefault(solver, []).append((float(r["budget"] or r["wall_time"]), trace, final))
            self.known[pid] = known

    def __len__(self) -> int:
        return len(self.known)

    def solvers(self) -> list[str]:
        return sorted({s for k in self.known.values() for s in k.runs})

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
