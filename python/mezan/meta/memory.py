"""Memory of solutions: the best solution found per problem fingerprint, kept in the store.

``mezan.solve`` asks :func:`recall` before solving a problem it has seen: the stored best becomes the
solver's start (a warm start, for solvers that take one) and a floor — the solve never returns worse
than it. :func:`remember` keeps a result's solution when it beats the stored one.

A solution is kept only for the problem types whose objective this module can recompute from the
problem record (:data:`EVALUATORS`: the QAP, the TSP and linear ordering — the permutation problems, solved by
heuristics; the LP families are solved to optimality by HiGHS, where a stored solution adds nothing), and only
after recomputing it: the stored objective is the solution's true value, never a solver's claim. Reading it back
checks everything again (the row's checksum, its problem type, the solution's shape and values, and its objective
recomputed on the problem), so a row altered in the file or written for another problem is refused
with :class:`StoredSolutionError` naming what is wrong; the caller solves cold and says so.

A solve that started from a stored solution is marked (:func:`mark_warm_started`): it is kept in the history but
is no evidence of its solver's skill, so MetaFlow's rewards, bandit statistics and ratings leave it out.

Cost: one indexed row per fingerprint; recall and remember are O(n^2) (one objective evaluation).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mezan import _core
from mezan.errors import MezanError
from mezan.qap import objective as qap_objective
from mezan.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS warm_started (solve INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS solutions (
    fingerprint TEXT PRIMARY KEY,
    problem_type TEXT NOT NULL,
    objective REAL NOT NULL,
    solution TEXT NOT NULL,
    solver TEXT NOT NULL,
    created REAL NOT NULL,
    checksum TEXT NOT NULL
);
"""

TOLERANCE = 1e-9
"""Relative tolerance when a recomputed objective is compared with a stored or claimed one."""


class StoredSolutionError(MezanError):
    """A stored solution cannot be used for this problem (altered, foreign or invalid); the message says why."""


def _permutation(solution: Any, n: int) -> np.ndarray:
    p = np.asarray(solution)
    if p.shape != (n,):
        raise StoredSolutionError(f"solution has shape {p.shape}, the problem needs a permutation of {n} entries")
    if not np.issubdtype(p.dtype, np.integer) or sorted(p.tolist()) != list(range(n)):
        raise StoredSolutionError(f"solution is not a permutation of 0..{n - 1}")
    return p.astype(np.int64)


def _qap(problem: Any, solution: Any) -> tuple[np.ndarray, float]:
    p = _permutation(solution, problem.n)
    return p, float(qap_objective(problem, None, p))


def _tsp(problem: Any, solution: Any) -> tuple[np.ndarray, float]:
    p = _permutation(solution, problem.n)
    return p, float(_core.tsp_objective(problem.D).evaluate(p))  # EvoFlow's own TSP objective


def _linear_ordering(problem: Any, solution: Any) -> tuple[np.ndarray, float]:
    p = _permutation(solution, problem.n)
    return p, float(_core.linear_ordering_objective(problem.W).evaluate(p))  # the backward weight, minimised


EVALUATORS: dict[str, Callable[[Any, Any], tuple[np.ndarray, float]]] = {
    "qap": _qap, "tsp": _tsp, "linear_ordering": _linear_ordering}
"""Problem type -> ``evaluate(problem, solution) -> (solution as an array, objective)`` (minimised), raising
:class:`StoredSolutionError` on a solution that does not fit the problem."""


@dataclass(frozen=True)
class Remembered:
    """The stored best solution of a problem: the solution, its (recomputed) objective and who found it."""

    solution: np.ndarray
    objective: float
    solver: str


def _checksum(fingerprint: str, problem_type: str, objective: float, solution: str, solver: str) -> str:
    canonical = json.dumps([fingerprint, problem_type, objective, solution, solver], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _intact(key: str, kind: Any, objective: Any, text: Any, solver: Any, checksum: Any) -> bool:
    """Whether a stored row is as written: a finite objective, a text solution and its checksum."""
    if not (isinstance(objective, int | float) and math.isfinite(objective) and isinstance(text, str)):
        return False
    try:
        return checksum == _checksum(key, kind, objective, text, solver)
    except (TypeError, ValueError):  # a field of a kind JSON cannot hold: not as written
        return False


def recall(store: Store, problem: Any) -> Remembered | None:
    """The stored best solution of this problem, checked against it; None when none is stored (or its type
    keeps none). Raises :class:`StoredSolutionError` when the stored row cannot be trusted."""
    kind = getattr(problem, "problem_type", None)
    if kind not in EVALUATORS:
        return None
    store.define(SCHEMA)
    key = problem.fingerprint()
    rows = store.query(f"SELECT {_COLUMNS} FROM solutions WHERE fingerprint = ?", (key,))
    return _checked(problem, key, rows[0]) if rows else None


_COLUMNS = "problem_type, objective, solution, solver, checksum"


def _checked(problem: Any, key: str, row: tuple[Any, ...]) -> Remembered:
    """A stored row of this problem's fingerprint, checked against the problem (see :func:`recall`)."""
    kind = problem.problem_type
    stored_type, stored_objective, text, solver, checksum = row
    where = f"the stored solution of problem {key[:12]}"
    if not _intact(key, stored_type, stored_objective, text, solver, checksum):
        raise StoredSolutionError(f"{where} fails its checksum: the row was altered")
    if stored_type != kind:
        raise StoredSolutionError(f"{where} is for a {stored_type!r} problem, not {kind!r}")
    try:
        solution = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoredSolutionError(f"{where} is not valid JSON ({exc.msg} at character {exc.pos})") from None
    try:
        array, value = EVALUATORS[kind](problem, solution)
    except StoredSolutionError as exc:
        raise StoredSolutionError(f"{where}: {exc}") from None
    if not _close(value, float(stored_objective)):
        raise StoredSolutionError(f"{where} has objective {value:g} on this problem, the store says "
                                  f"{stored_objective:g}")
    return Remembered(array, value, solver)


def mark_warm_started(store: Store, solve_id: int) -> None:
    """Note that a recorded solve started from a stored solution: it says nothing of its solver's own skill, so
    MetaFlow's statistics and ratings leave it out (the history row itself stays, unchanged)."""
    store.define(SCHEMA)
    with store.transaction() as db:
        db.execute("INSERT OR IGNORE INTO warm_started VALUES (?)", (int(solve_id),))


def mark_warm(db: Any, solve_id: int) -> None:
    """:func:`mark_warm_started` inside the caller's write transaction ``db`` (``Store.append_solve(after=...)``: the
    row and its mark are written together); the caller has run ``store.define(SCHEMA)``."""
    db.execute("INSERT OR IGNORE INTO warm_started VALUES (?)", (int(solve_id),))


def warm_started(store: Store) -> set[int]:
    """Ids of the recorded solves that started from a stored solution."""
    store.define(SCHEMA)
    return {int(row[0]) for row in store.query("SELECT solve FROM warm_started")}


def remember(store: Store, problem: Any, result: Any) -> bool:
    """Keep the result's solution when it is better than the stored one (and its objective, recomputed, is the one
    the result claims). Returns True when it was kept."""
    kind = getattr(problem, "problem_type", None)
    if kind not in EVALUATORS or getattr(result, "solution", None) is None or result.objective is None:
        return False
    try:
        array, value = EVALUATORS[kind](problem, result.solution)
    except StoredSolutionError:
        return False
    if not _close(value, float(result.objective)):
        return False
    store.define(SCHEMA)
    key = problem.fingerprint()
    text = json.dumps(array.tolist(), separators=(",", ":"))
    solver = str(result.solver or "")
    with store.transaction() as db:  # checked and replaced in one transaction: a concurrent better one is not lost
        store.lock(db, f"solution:{key}")  # (PostgreSQL: a plain SELECT locks nothing; replicas wait here)
        row = db.execute(f"SELECT {_COLUMNS} FROM solutions WHERE fingerprint = ?", (key,)).fetchone()
        try:
            current = None if row is None else _checked(problem, key, row)
        except StoredSolutionError:  # a refused row is no bar: the verified solution replaces it
            current = None
        if current is not None and not value < current.objective - TOLERANCE * max(1.0, abs(current.objective)):
            return False
        db.execute("INSERT OR REPLACE INTO solutions VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (key, kind, value, text, solver, time.time(), _checksum(key, kind, value, text, solver)))
    return True


__all__ = ["EVALUATORS", "Remembered", "StoredSolutionError", "mark_warm", "mark_warm_started", "recall", "remember",
           "warm_started"]
