"""Instances of every registered problem type for the contract tests and bench/time_limits.py: per type, a small one
solved to optimality fast and a large one that takes longer than a fraction of a second for the search solvers."""

import numpy as np

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


def instances(kind):
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
