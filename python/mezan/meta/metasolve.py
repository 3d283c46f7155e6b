"""The solve behind ``mezan.solve`` for a problem record: MetaFlow picks the solver, runs it and learns from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from mezan import registry
from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.meta import memory
from mezan.meta.features import problem_type
from mezan.meta.metaflow import MetaFlow
from mezan.problems import QAPProblem
from mezan.results import Result, Status
from mezan.running import check_seed
from mezan.store import Store, StoredDataError


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
          progress: Callable[[float, float], Any] | None = None) -> Result:
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
    stop : threading.Event, optional
        Setting it cancels the solve.
    progress : callable, optional
        ``progress(best_objective, elapsed_seconds)`` when the best improves; returning True stops the solve.

    Returns
    -------
    Result
        The solver's result record with ``solver`` set and ``explanation`` starting with why it was chosen and
        the instance's difficulty (:meth:`MetaFlow.difficulty`).

    Notes
    -----
    Memory: when the store holds a solution of this very problem (same fingerprint), the solver starts from it
    (solvers that take a start: the qap.* and qapflow.* ones) and the solve never returns worse than it; a stored
    solution that fails its checks is refused, said in the explanation, and the solve runs cold. With ``record``, the
    solve is appended to the history, its solution kept when it is the best so far (:mod:`mezan.meta.memory`),
    and :meth:`MetaFlow.refresh` re-clusters when due. MetaFlow data that fails its checks
    (:class:`~mezan.store.StoredDataError`) never stops the solve, and the explanation says what was refused: a
    history row or rating that fails leaves the solve to the default solver, out of the history (the memory of
    solutions, checked on its own, still serves); a refused model (clustering, selector) counts as missing.
    """
    problem = as_problem(problem, B)
    seed = check_seed(seed)
    if solver != "auto" and not isinstance(solver, str):
        raise InvalidParameterError(f"solver must be 'auto' or a registered solver name, got {solver!r}")
    requested = (solver, f"solver {solver!r} requested") if solver != "auto" else None
    try:
        flow: MetaFlow | None = metaflow if metaflow is not None else MetaFlow(seed=seed)
        name, why = requested or flow.select(problem)
        notes = [why, flow.difficulty(problem).describe()]
        notes += [f"MetaFlow passed over stored data it refused ({exc}); a refused model counts as missing until "
                  f"refitted" for exc in flow.refused]
        advisor = flow.advisor()
    except StoredDataError as exc:  # MetaFlow's data fails its checks: solve without it, learn nothing from this
        flow, advisor = None, None
        candidates = MetaFlow.candidates(problem)
        name, why = requested or (MetaFlow.cold_start(problem, candidates) or candidates[0],
                                  "the default solver for this problem")
        notes = [why, f"MetaFlow's stored data refused ({exc}), so no learned choice and this solve is not "
                      f"recorded in the history (`mezan meta verify` checks the store)"]
    store = flow.store if flow is not None else (metaflow.store if metaflow is not None else Store())
    remembered = None
    try:
        remembered = memory.recall(store, problem)
    except memory.StoredSolutionError as exc:
        notes.append(f"stored solution refused ({exc}); solved cold")
    chosen = registry.get(name)
    if remembered is not None:
        notes.append(f"{'warm start from' if chosen.takes_initial else 'floor:'} the stored best solution "
                     f"(objective {remembered.objective:g}, found by {remembered.solver or 'an earlier solve'})")
    result = chosen.solve(problem, time_limit=time_limit, seed=seed, stop=stop, progress=progress,
                          advisor=advisor, initial=None if remembered is None else remembered.solution)
    notes += [f"the trained selector was not asked: {reason}" for reason in getattr(advisor, "refused", [])]
    if remembered is not None and (result.objective is None or remembered.objective < float(result.objective)):
        result = _from_memory(result, remembered)
        notes.append("the solver ended worse than the stored best, so the stored best is returned")
    if record:
        memory.remember(store, problem, result)  # its own table and checks: kept whatever the history holds
    if record and flow is not None:
        try:
            flow.record(problem, name, result, time_limit=time_limit, warm_start=remembered is not None)
            flow.refresh(problem_type(problem))
        except StoredDataError as exc:  # raised before or after the row was appended: not learned from either way
            notes.append(f"MetaFlow's stored data refused while recording ({exc}), so this solve is not learned from")
    explanation = "; ".join(notes)
    return dataclasses.replace(result, explanation=f"{explanation} | {result.explanation}" if result.explanation
                               else explanation)


def _from_memory(result: Result, remembered: memory.Remembered) -> Result:
    """The result with the stored best solution in place of the solver's (worse or missing) one; a proven lower
    bound stays, and the gap is recomputed against it."""
    value = remembered.objective
    bound = result.lower_bound
    gap = None if bound is None else max(0.0, value - bound) / max(abs(value), 1e-12)
    solution = remembered.solution
    if isinstance(result.solution, np.ndarray):
        solution = solution.astype(result.solution.dtype)
    status = result.status if result.status in (Status.TIMEOUT, Status.CANCELLED, Status.FEASIBLE) else Status.FEASIBLE
    objective = int(value) if isinstance(result.objective, int | np.integer) and value.is_integer() else value
    return dataclasses.replace(result, solution=solution, objective=objective, upper_bound=value, gap=gap,
                               status=status)
