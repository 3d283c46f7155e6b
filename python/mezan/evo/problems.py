"""Problems EvoFlow solves natively in C++ (and a wrapper for Python callables).

:class:`TSP` and :class:`LinearOrdering` are the problem records :class:`mezan.problems.TSPProblem` and
:class:`mezan.problems.LinearOrderingProblem` with the C++ objective attached; :class:`QAP` wraps a
:class:`mezan.problems.QAPProblem`. :func:`native` turns any of these records into EvoFlow's form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan import _core
from mezan.errors import InvalidProblemError
from mezan.problems import LinearOrderingProblem, QAPProblem, TSPProblem
from mezan.qap.solve import kernel_arrays


class QAP:
    """Quadratic assignment ``sum_ij A[i,j] B[p_i,p_j]`` (p[i] = location of facility i)."""

    problem_type = "qap"

    def __init__(self, A: Any, B: Any) -> None:
        self.problem = QAPProblem(A, B)

    @property
    def n(self) -> int:
        return self.problem.n

    def core_objective(self) -> Any:

        a, b, kind = kernel_arrays(self.problem, False)
        return getattr(_core, f"qap_objective_{kind}")(a, b)


@dataclass(frozen=True, eq=False)
class TSP(TSPProblem):
    """Closed tour length over a distance matrix D: p[i] is the city visited at step i (a
    :class:`mezan.problems.TSPProblem`)."""

    def core_objective(self) -> Any:
        return _core.tsp_objective(self.D)


@dataclass(frozen=True, eq=False)
class LinearOrdering(LinearOrderingProblem):
    """Linear ordering: order the elements to maximise the forward weight sum_{i<j} W[p_i, p_j];
    EvoFlow minimises the equivalent backward weight sum_{i<j} W[p_j, p_i] (a
    :class:`mezan.problems.LinearOrderingProblem`)."""

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


NATIVE = (QAP, TSP, LinearOrdering, PermutationProblem)


def native(problem: Any) -> Any:
    """EvoFlow's form of a problem: its own classes as they are, a QAP, TSP or linear-ordering record
    wrapped (anything else is returned unchanged, for the caller to refuse)."""
    if isinstance(problem, NATIVE):
        return problem
    if isinstance(problem, TSPProblem):
        return TSP(problem.D, name=problem.name)
    if isinstance(problem, LinearOrderingProblem):
        return LinearOrdering(problem.W, name=problem.name)
    if isinstance(problem, QAPProblem):
        return QAP(problem.A, problem.B)
    return problem
