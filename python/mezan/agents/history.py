"""What MEZAN has seen: OptiBench's recorded runs (with their anytime traces) arranged by instance, for the agents.

Each registered instance with runs carries its features (computed at registration); a run's *gap* at time t is the
gap of the best objective its trace had reached by t, to the instance's reference (its best-known value, else the
best objective any recorded run found on it). Similar instances are the nearest by standardised Euclidean distance
over the features both have (log1p of the size, so n = 80 and n = 100 are close and n = 12 is not).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mezan.bench.analysis import family_of
from mezan.bench.registry import Registry
from mezan.errors import InvalidParameterError
from mezan.meta.features import sense_of
from mezan.meta.ratings import loss


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


def _known(registry: Registry, row: dict[str, Any], runs: list[dict[str, Any]]) -> Known:
    """The Known of one registered instance (``row``) from its runs with an objective (traces loaded on first use)."""
    pid = row["problem_id"]
    sense = sense_of(row["problem_type"])
    ref = (loss(row["best_known"], sense) if row["best_known"] is not None else
           min(loss(r["objective"], sense) for r in runs))

    def gap(value: float) -> float:
        return max(0.0, (value - ref) / max(abs(ref), 1e-12)) if value != ref else 0.0

    def load() -> dict[str, list[tuple[float, list[tuple[float, float]], float]]]:
        out: dict[str, list[tuple[float, list[tuple[float, float]], float]]] = {}
        for r in registry.runs(problem_id=pid):
            if r["objective"] is None:
                continue
            final = gap(loss(r["objective"], sense))
            trace = [(float(t), gap(loss(v, sense))) for t, v in r["trace"]] or [(float(r["wall_time"]), final)]
            out.setdefault(r["solver"].split(":")[0], []).append((_budget(r), trace, final))
        return out

    known = Known(pid, row["name"], row["problem_type"], family_of(row), row["features"], load=load)
    for r in runs:  # the registered name: configurations pool
        known.finals.setdefault(r["solver"].split(":")[0], []).append((_budget(r), gap(loss(r["objective"], sense))))
    return known


_LATEST: dict[tuple[str, str | None], tuple[History, int, int, float]] = {}  # see History.current
_LATEST_LOCK = threading.Lock()
_LATEST_KEEP = 8  # histories kept, most recently used last


class History:
    """Every recorded run of the registry, by instance."""

    def __init__(self, registry: Registry, problem_type: str | None = None, *,
                 known: dict[str, Known] | None = None) -> None:
        self.registry = registry
        self.problem_type = problem_type
        self._scaled: dict[str, dict[str, float]] = {}  # problem id -> its scaled features (nearest)
        self._nearest: dict[tuple, list[tuple[Known, float]]] = {}  # nearest's answers, by question
        self.known: dict[str, Known] = {} if known is None else known
        if known is not None:
            return
        rows = {r["problem_id"]: r for r in registry.instances()
                if problem_type is None or r["problem_type"] == problem_type}
        by_instance: dict[str, list[dict[str, Any]]] = {}
        for run in registry.runs(traces=False):
            if run["problem_id"] in rows and run["objective"] is not None:
                by_instance.setdefault(run["problem_id"], []).append(run)
        self.known = {pid: _known(registry, rows[pid], runs) for pid, runs in by_instance.items()}

    @classmethod
    def current(cls, registry: Registry, problem_type: str | None = None) -> History:
        """The history as the registry holds it now. Runs are only ever added, so the history last built from the
        same database file for the same problem type is brought up to date rather than rebuilt: only the instances
        the runs recorded since then touch are read again (their references may have moved), the others keep their
        Known (and the traces it loaded). A stream of analyses, one per new instance, so reads what is new, not the
        whole history (10-15 ms of a 40 ms analysis on 200 instances). The last run's id and time check that the
        file is still the one the history came from; anything else (an in-memory store, a replaced file) builds
        anew. The latest histories of a few files (_LATEST_KEEP) are kept."""
        path = registry.store.path
        if not isinstance(path, Path):
            return cls(registry, problem_type)
        key = (str(path.resolve()), problem_type)
        count, last = (int(v) for v in registry.store.query("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM bench_runs")[0])
        newest = registry.store.query("SELECT created FROM bench_runs WHERE id = ?", (last,))
        stamp = float(newest[0][0]) if newest else 0.0
        with _LATEST_LOCK:
            cached = _LATEST.get(key)
        history = None
        if cached is not None:
            old, old_count, old_last, old_stamp = cached
            same = registry.store.query("SELECT created FROM bench_runs WHERE id = ?", (old_last,))
            if (old_count, old_last) == (count, last) and old_stamp == stamp:
                history = old
            elif old_last <= last and (old_last == 0 or (same and float(same[0][0]) == old_stamp)):
                new = registry.runs(since=old_last, traces=False)
                touched = list(dict.fromkeys(r["problem_id"] for r in new if r["objective"] is not None))
                # Only additions since, touching few instances (each is read again: many are cheaper rebuilt).
                if len(new) == count - old_count and len(touched) <= max(16, len(old) // 4):
                    history = old._extended(registry, touched)
        if history is None:
            history = cls(registry, problem_type)
        with _LATEST_LOCK:
            _LATEST.pop(key, None)
            _LATEST[key] = (history, count, last, stamp)
            while len(_LATEST) > _LATEST_KEEP:  # a process that analyses many stores keeps the latest few
                del _LATEST[next(iter(_LATEST))]
        return history

    def _extended(self, registry: Registry, touched: list[str]) -> History:
        """A new History: this one with the instances ``touched`` (in the order of their first new run, as a fresh
        build would add them) rebuilt from all their runs."""
        known = dict(self.known)
        for pid in touched:
            try:
                row = registry.instance(pid)
            except InvalidParameterError:  # a run of an unregistered instance: a fresh build skips it too
                continue
            if self.problem_type is not None and row["problem_type"] != self.problem_type:
                continue
            runs = [r for r in registry.runs(problem_id=pid, traces=False) if r["objective"] is not None]
            known[pid] = _known(registry, row, runs)
        history = History(registry, self.problem_type, known=known)
        scaled = dict(self._scaled)  # a copy first: this history's agents may be adding to it
        history._scaled = {pid: v for pid, v in scaled.items() if pid not in set(touched)}
        return history

    def __len__(self) -> int:
        return len(self.known)

    def solvers(self) -> list[str]:
        return sorted({s for k in self.known.values() for s in k.finals})

    def nearest(self, features: dict[str, float], k: int = 5, *, exclude: str | None = None,
                problem_type: str | None = None) -> list[tuple[Known, float]]:
        """The ``k`` known instances most similar to ``features`` with their distances (nearest first). The agents
        of one analysis ask the same question, so answers are kept with the history (and known instances' scaled
        features are computed once)."""
        key = (tuple(sorted(_scaled(features).items())), k, exclude, problem_type)
        if len(self._nearest) > 256:  # a history long in use (no new runs) answers many questions: keep few
            self._nearest = {}
        if key not in self._nearest:
            self._nearest[key] = self._find_nearest(dict(key[0]), k, exclude, problem_type)
        return list(self._nearest[key])

    def _find_nearest(self, target: dict[str, float], k: int, exclude: str | None,
                      problem_type: str | None) -> list[tuple[Known, float]]:
        pool = [known for known in self.known.values() if known.problem_id != exclude
                and (problem_type is None or known.problem_type == problem_type)]
        if not pool:
            return []
        scaled = []
        for p in pool:
            if p.problem_id not in self._scaled:
                self._scaled[p.problem_id] = _scaled(p.features)
            scaled.append(self._scaled[p.problem_id])
        names = sorted(set(target).intersection(*[set(s) for s in scaled]))
        if not names:
            return [(p, math.inf) for p in pool[:k]]
        X = np.array([[s[n] for n in names] for s in scaled])
        scale = X.std(axis=0)
        scale[scale < 1e-12] = 1.0
        distance = np.sqrt((((X - np.array([target[n] for n in names])) / scale) ** 2).sum(axis=1))
        order = np.argsort(distance, kind="stable")[:k]
        return [(pool[i], float(distance[i])) for i in order]


__all__ = ["History", "Known"]
