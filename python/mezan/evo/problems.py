"""Problems EvoFlow solves natively in C++ (and a wrapper for Python callables)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan import _core
from mezan.errors import InvalidProblemError
from mezan.problems import QAPProblem, as_matrix, check_scale, max_abs


class QAP:
    """Quadratic assignment ``sum_ij A[i,j] B[p_i,p_j]`` (p[i] = location of facility i)."""

    problem_type = "qap"

    def __init__(self, A: Any, B: Any) -> None:
        self.problem = QAPProblem(A, B)

    @property
    def n(self) -> int:
        return self.problem.n

    def core_objective(self) -> Any:
        from mezan.qap.solve import kernel_arrays

        a, b, kind = kernel_arrays(self.problem, False)
        return getattr(_core, f"qap_objective_{kind}")(a, b)


def _real_matrix(name: str, value: Any, min_n: int, what: str) -> np.ndarray:
    """A finite square float64 matrix of size >= min_n (errors name the argument)."""
    M = as_matrix(name, value)
    if M.shape[0] < min_n:
        raise InvalidProblemError(f"{name} must be at least {min_n}x{min_n} ({what}), got {M.shape}")
    return np.ascontiguousarray(M, dtype=np.float64)


class TSP:
    """Closed tour length over a distance matrix D: p[i] is the city visited at step i."""

    problem_type = "tsp"

    def __init__(self, D: Any) -> None:
        self.D = _real_matrix("D", D, 3, "a tour needs 3 cities")
        check_scale("D", [self.n, max_abs(self.D)], what="n max|D| (a bound on every tour length)")

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
        self.W = _real_matrix("W", W, 2, "an order of 2 elements or more")
        check_scale("W", [self.n, self.n, max_abs(self.W)],
                    what="n^2 max|W| (a bound on every order's weight)")

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
