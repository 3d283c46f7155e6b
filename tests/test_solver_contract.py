"""One contract for every registered solver (in the spirit of scikit-learn's ``parametrize_with_checks``):
whatever the solver, ``solver.solve(problem, time_limit=, seed=, stop=, progress=)``

- returns a record with ``objective`` and a ``status`` in the one vocabulary;
- ends within its time limit (plus a stated overhead) and promptly once ``stop`` is set, with its best so far
  (or ``cancelled``/``timeout`` and no solution when it has none);
- calls ``progress(best, elapsed)`` with the objective it returns when it has one;
- gives the same objective for the same seed on an instance it solves to optimality;
- refuses a problem of another type with a ``mezan.errors`` error.

Every registered solver is covered: a new one without an instance here fails ``test_every_type_has_instances``.
"""

import dataclasses
import json
import threading
import time

import pytest

from mezan import registry
from mezan.errors import MezanError
from mezan.results import Result, Status

from solver_instances import instances

STATUSES = {"optimal", "feasible", "timeout", "cancelled", "infeasible", "unbounded", "error"}
assert set(STATUSES) == {s.value for s in Status}  # the vocabulary of the issue, exactly
OVERHEAD = 3.0  # seconds a solve may take beyond its time limit (start-up, bounds, a worker process)
STOP_AFTER = 0.3


SOLVERS = sorted(registry.solvers(), key=lambda s: s.name)
IDS = [s.name for s in SOLVERS]


def test_every_type_hasinstances():
    for kind in sorted({s.problem_type for s in SOLVERS}):
        small, large = instances(kind)
        assert small is not None and large is not None


@pytest.mark.parametrize("solver", SOLVERS, ids=IDS)
def test_a_solve_returns_a_result_in_the_vocabulary_within_its_budget_and_reports_progress(solver):
    small, _ = instances(solver.problem_type)
    reported = []
    started = time.perf_counter()
    result = solver.solve(small, time_limit=0.5, seed=0, progress=lambda best, elapsed: reported.append(best))
    assert time.perf_counter() - started < 0.5 + OVERHEAD
    assert isinstance(result, Result) and isinstance(result.status, Status) and result.status in STATUSES
    assert result.solver == solver.name and result.has_solution == (result.objective is not None)
    wire = result.to_dict()
    assert json.loads(json.dumps(wire)) == wire  # JSON-ready as it is
    assert type(result).from_dict(wire).to_dict() == wire  # and read back by its own class
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.objective = 0.0  # type: ignore[misc]
    if result.objective is not None and result.status in ("optimal", "feasible", "timeout"):
        assert reported, "progress was never called although the solver found a solution"
        assert reported[-1] == pytest.approx(result.objective, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("solver", SOLVERS, ids=IDS)
def test_stop_ends_a_solve_promptly(solver):
    _, large = instances(solver.problem_type)
    stop = threading.Event()
    timer = threading.Timer(STOP_AFTER, stop.set)
    timer.start()
    started = time.perf_counter()
    try:
        result = solver.solve(large, time_limit=60.0, seed=0, stop=stop)
    finally:
        timer.cancel()
    assert time.perf_counter() - started < STOP_AFTER + OVERHEAD
    assert result.status in STATUSES
    if result.status == "cancelled" and result.objective is None:
        return  # cancelled before it had a solution: allowed, and said so
    assert result.objective is not None or result.status in ("infeasible", "unbounded", "error")


@pytest.mark.parametrize("solver", SOLVERS, ids=IDS)
def test_the_same_seed_gives_the_same_objective(solver):
    small, _ = instances(solver.problem_type)
    first = solver.solve(small, time_limit=0.25, seed=7)  # the small instances are solved well within it
    second = solver.solve(small, time_limit=0.25, seed=7)
    assert first.objective == pytest.approx(second.objective, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("solver", SOLVERS, ids=IDS)
def test_a_problem_of_another_type_is_refused(solver):
    other = instances("matrix_game" if solver.problem_type != "matrix_game" else "qap")[0]
    with pytest.raises(MezanError):
        solver.solve(other, time_limit=0.5, seed=0)
