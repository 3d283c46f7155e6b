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

import numpy as np
import pytest

from mezan import registry
from mezan.errors import MezanError
from mezan.evo import PermutationProblem
from mezan.problems import (
    AllocationProblem,
    LinearOrderingProblem,
    MatrixGameProblem,
    NetworkDesignProblem,
    QAPProblem,
    RobustAllocationProblem,
    RobustAssignmentProblem,
    RobustQAPProblem,
    TSPProblem,
    WorkflowProblem,
)
from mezan.results import Result, Status

STATUSES = {"optimal", "feasible", "timeout", "cancelled", "infeasible", "unbounded", "error"}
assert set(STATUSES) == {s.value for s in Status}  # the vocabulary of the issue, exactly
OVERHEAD = 3.0  # seconds a solve may take beyond its time limit (start-up, bounds, a worker process)
STOP_AFTER = 0.3


def _qap(n, seed):
    rng = np.random.default_rng(seed)
    A, B = rng.integers(0, 10, (2, n, n))
    return QAPProblem(A, B)


def _tsp(n, seed):
    points = np.random.default_rng(seed).random((n, 2))
    return TSPProblem(np.linalg.norm(points[:, None] - points[None], axis=-1))


def _allocation(n, seed):
    rng = np.random.default_rng(seed)
    items = [{"id": f"i{k}", "cost": {"money": float(rng.integers(1, 30)), "time": float(rng.integers(1, 30))},
              "value": float(rng.integers(1, 40)), "max": 3, "integer": True} for k in range(n)]
    return {"items": items, "budgets": {"money": 4.0 * n, "time": 4.0 * n}}


def _workflow(n, seed):
    rng = np.random.default_rng(seed)
    tasks = [{"id": f"t{k}", "duration": int(rng.integers(1, 9)), "resources": {"r": int(rng.integers(1, 3))}}
             for k in range(n)]
    precedences = [[f"t{a}", f"t{b}"] for a in range(n) for b in range(a + 1, n) if rng.random() < 2.0 / n]
    return WorkflowProblem.from_dict({"tasks": tasks, "precedences": precedences, "resources": {"r": 3}})


def _network(n, seed):
    rng = np.random.default_rng(seed)
    edges = [{"from": str(a), "to": str(b), "cost": float(rng.integers(1, 9)), "capacity": 10.0,
              "fixed_cost": float(rng.integers(5, 40))}
             for a in range(n) for b in range(n) if a != b and rng.random() < 0.5]
    nodes = [{"id": str(k), "supply": {0: 6.0, n - 1: -6.0}.get(k, 0.0)} for k in range(n)]
    return NetworkDesignProblem.from_dict({"task": "fixed_charge", "nodes": nodes, "edges": edges})


def _instances(kind):
    """(small: solved to optimality fast, large: takes longer than STOP_AFTER for the search solvers)."""
    if kind == "qap":
        return _qap(6, 1), _qap(60, 2)
    if kind == "tsp":
        return _tsp(7, 1), _tsp(150, 2)
    if kind == "linear_ordering":
        rng = np.random.default_rng(3)
        return LinearOrderingProblem(rng.integers(0, 9, (6, 6))), LinearOrderingProblem(rng.integers(0, 9, (120, 120)))
    if kind == "permutation":
        return (PermutationProblem(lambda p: float(np.sum(np.abs(p - np.arange(len(p))))), 6),
                PermutationProblem(lambda p: float(np.sum(np.abs(p - np.arange(len(p))))), 200))
    if kind == "allocation":
        return AllocationProblem.from_dict(_allocation(4, 1)), AllocationProblem.from_dict(_allocation(300, 2))
    if kind == "robust_allocation":
        small, large = _allocation(4, 1), _allocation(200, 2)
        small["scenarios"] = [{"i0": 1.0}, {"i1": 2.0}]
        large["scenarios"] = [{f"i{k}": float(k % 7) for k in range(0, 200, s)} for s in (1, 2, 3)]
        return RobustAllocationProblem.from_dict(small), RobustAllocationProblem.from_dict(large)
    if kind == "workflow":
        return _workflow(5, 1), _workflow(60, 2)
    if kind == "network_design":
        return _network(4, 1), _network(16, 2)
    if kind == "robust_assignment":
        rng = np.random.default_rng(4)
        return RobustAssignmentProblem(rng.integers(0, 9, (2, 4, 4))), RobustAssignmentProblem(
            rng.integers(0, 99, (8, 25, 25)))
    if kind == "robust_qap":
        rng = np.random.default_rng(5)
        return (RobustQAPProblem(rng.integers(0, 9, (2, 5, 5)), rng.integers(0, 9, (1, 5, 5))),
                RobustQAPProblem(rng.integers(0, 9, (3, 40, 40)), rng.integers(0, 9, (1, 40, 40))))
    if kind == "matrix_game":
        rng = np.random.default_rng(6)
        return MatrixGameProblem(rng.integers(-5, 6, (3, 4))), MatrixGameProblem(rng.integers(-5, 6, (200, 200)))
    raise KeyError(kind)


SOLVERS = sorted(registry.solvers(), key=lambda s: s.name)
IDS = [s.name for s in SOLVERS]


def test_every_type_has_instances():
    for kind in sorted({s.problem_type for s in SOLVERS}):
        small, large = _instances(kind)
        assert small is not None and large is not None


@pytest.mark.parametrize("solver", SOLVERS, ids=IDS)
def test_a_solve_returns_a_result_in_the_vocabulary_within_its_budget_and_reports_progress(solver):
    small, _ = _instances(solver.problem_type)
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
    _, large = _instances(solver.problem_type)
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
    small, _ = _instances(solver.problem_type)
    first = solver.solve(small, time_limit=0.5, seed=7)
    second = solver.solve(small, time_limit=0.5, seed=7)
    assert first.objective == pytest.approx(second.objective, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("solver", SOLVERS, ids=IDS)
def test_a_problem_of_another_type_is_refused(solver):
    other = _instances("matrix_game" if solver.problem_type != "matrix_game" else "qap")[0]
    with pytest.raises(MezanError):
        solver.solve(other, time_limit=0.5, seed=0)
