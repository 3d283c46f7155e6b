"""``mezan.solve``: one entry point for any problem record; MetaFlow picks the solver and learns."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from mezan import registry
from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.meta.metaflow import MetaFlow
from mezan.problems import QAPProblem
from mezan.results import Result


def as_problem(problem: Any, B: Any = None) -> Any:
    """A problem record: a QAPProblem (or any record with ``fingerprint()``), or QAP matrices ``A, B``."""
    if B is not None:
        return QAPProblem(problem, B)
    if hasattr(problem, "fingerprint"):
        return problem
    raise InvalidProblemError(f"problem must be a problem record (e.g. QAPProblem) or the matrices A, B; got "
                              f"{type(problem).__name__} without B")


def solve(problem: Any, B: Any = None, *, time_limit: float = 10.0, solver: str = "auto", seed: int | None = None,
          metaflow: MetaFlow | None = None, record: bool = True, stop: Any = None,
          callback: Callable[[float, float], Any] | None = None) -> Result:
    """Solve a problem with the solver MetaFlow selects (``solver="auto"``) or a named registered one,
    record the outcome in MetaFlow's store, and explain the choice.

    Parameters
    ----------
    problem : QAPProblem or array_like
        A problem record, or the QAP flow matrix A (then give ``B``).
    B : array_like, optional
        The QAP distance matrix when ``problem`` is A.
    time_limit : float
        Wall-clock budget in seconds.
    solver : str
        "auto" (MetaFlow's policy over :meth:`MetaFlow.candidates`) or a registered solver name
        (``mezan.registry.solvers()``).
    seed : int, optional
        Seeds the solver and, with a fresh MetaFlow, the selection.
    metaflow : MetaFlow, optional
        The selector and store to use (default: ``MetaFlow(seed=seed)`` on ``$MEZAN_HOME``).
    record : bool
        Append the solve to the store (default True).
    stop, callback
        Passed to the solver (a ``threading.Event`` that cancels; ``callback(best, elapsed)``).

    Returns
    -------
    The solver's result record with ``solver`` set and ``explanation`` starting with why it was chosen.
    """
    problem = as_problem(problem, B)
    flow = metaflow if metaflow is not None else MetaFlow(seed=seed)
    if solver == "auto":
        name, why = flow.select(problem)
    else:
        if not isinstance(solver, str):
            raise InvalidParameterError(f"solver must be 'auto' or a registered solver name, got {solver!r}")
        name, why = solver, f"solver {solver!r} requested"
    result = registry.get(name).solve(problem, time_limit=time_limit, seed=seed, stop=stop, progress=callback,
                                      advisor=flow.advisor())
    if record:
        flow.record(problem, name, result, time_limit=time_limit)
    return dataclasses.replace(result, explanation=f"{why} | {result.explanation}" if result.explanation else why)
