"""Problems EvoFlow solves natively in C++ (and a wrapper for Python callables)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan import _core
from mezan.errors import InvalidProblemError
from mezan.problems import QAPProblem, as_matrix


class QAP:
    """Quadratic assignment ``sum_ij A[i,j] B[p_i,p_j]`` (p[i] = location of facility i)."""

    problem_type = "qap"

    def __init__(self, A: Any, B: Any) -> None:
        self.problem = QAPProblem(A, B)

    @property
    def n(self) -> int:
        return self.problem.n

    def core_objective(self) -> Any:
        from mezan.qap.solve import _kernel_arrays

        a, b, kind = _kernel_arrays(self.problem, False)
        return getattr(_core, f"qap_objective_{kind}")(a, b)


class TSP:
    """Closed tour length over a distance matrix D: p[i] is the city visited at step i."""

    problem_type = "tsp"

    def __init__(self, D: Any) -> None:
        D = as_matrix("D", D)
        if D.shape[0] < 3:
            raise InvalidProblemError(f"D must be at least 3x3 (a tour needs 3 cities), got {D.shape}")
        self.D = np.ascontiguousarray(D, dtype=np.float64)

    @property
    def n(self) -> int:
        return int(self.D.shape[0])

    def core_objective(self) -> Any:
        return _core.tsp_objective(self.D)


class LinearOrdering:
    """Linear ordering: order the elements to maximise the forward weight sum_{i<j} W[p_i, p_j];
    EvoFlow minimises the equivalent backward weight sum_{i<j} W[p_j, p_i]."""

    problem_type = "linear_ordering"

    def __init__(self, W: Any) -> None:
        W = as_matrix("W", W)
        if W.shape[0] < 2:
            raise InvalidProblemError(f"W must be at least 2x2, got {W.shape}")
        self.W = np.ascontiguousarray(W, dtype=np.float64)

    @property
    def n(self) -> int:
        return int(self.W.shape[0])

    def core_objective(self) -> Any:
        return _core.linear_ordering_objective(self.W)


@dataclass(frozen=True)
class PermutationProblem:
    """Any Python function of a permutation of 0..n-1 (a numpy int array) returning a float to minimise."""

    function: Callable[[np.ndarray], float]
    n: int
    problem_type: str = field(default="permutation", init=False)

    def __post_init__(self) -> None:
        if not callable(self.function):
            raise InvalidProblemError("objective must be callable as objective(permutation) -> float")
        if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)) or self.n < 2:
            raise InvalidProblemError(f"n must be an integer >= 2 for a callable objective, got {self.n!r}")

    def core_objective(self) -> Any:
        return _core.callable_objective(self.function, int(self.n))
