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
    """Quadratic assignment for EvoFlow: minimise ``sum_ij A[i, j] * B[p[i], p[j]]`` over permutations p.

    p[i] is the location of facility i. Wraps a :class:`mezan.problems.QAPProblem` (as ``problem``) with the C++
    objective attached; ``n`` is its size.

    Parameters
    ----------
    A : array_like, shape (n, n)
        The flow matrix (between facilities).
    B : array_like, shape (n, n)
        The distance matrix (between locations).

    Raises
    ------
    mezan.errors.InvalidProblemError
        When ``A`` and ``B`` are not a valid QAP (square, same size, finite, n >= 2).
    """

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
    """Travelling salesman for EvoFlow: minimise the closed tour length over a distance matrix D.

    A :class:`mezan.problems.TSPProblem` with the C++ objective attached: p[i] is the city visited at step i.
    The memetic variant's 2-opt needs a symmetric D.

    Parameters
    ----------
    D : array_like, shape (n, n)
        Distances between the cities (finite real numbers, n >= 3; need not be symmetric).
    name : str, optional
        The instance's name (a label: not part of the fingerprint).

    Raises
    ------
    mezan.errors.InvalidProblemError
        When ``D`` is not a finite real square matrix of size 3 or more.
    """

    def core_objective(self) -> Any:
        return _core.tsp_objective(self.D)


@dataclass(frozen=True, eq=False)
class LinearOrdering(LinearOrderingProblem):
    """Linear ordering for EvoFlow: order the elements to maximise the forward weight.

    A :class:`mezan.problems.LinearOrderingProblem` with the C++ objective attached. The forward weight is
    ``sum_{i<j} W[p[i], p[j]]``; EvoFlow minimises the equivalent backward weight ``sum_{i<j} W[p[j], p[i]]``.

    Parameters
    ----------
    W : array_like, shape (n, n)
        ``W[a, b]``: the weight gained when element a comes before element b (finite real numbers, n >= 2).
    name : str, optional
        The instance's name (a label: not part of the fingerprint).

    Raises
    ------
    mezan.errors.InvalidProblemError
        When ``W`` is not a finite real square matrix of size 2 or more.
    """

    def core_objective(self) -> Any:
        return _core.linear_ordering_objective(self.W)


@dataclass(frozen=True)
class PermutationProblem:
    """Any Python function of a permutation, to minimise.

    EvoFlow calls the function in batches, taking the GIL only to evaluate; its ``problem_type`` is
    ``"permutation"``.

    Parameters
    ----------
    function : callable
        ``function(permutation) -> float``, the permutation of 0..n-1 given as a numpy int array; minimised.
    n : int
        The permutation length, at least 2.

    Raises
    ------
    mezan.errors.InvalidProblemError
        When ``function`` is not callable or ``n`` is not an integer >= 2.
    """

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
    """Return EvoFlow's form of a problem.

    Parameters
    ----------
    problem : object
        A problem: one of EvoFlow's own classes, a :class:`mezan.problems.QAPProblem`, ``TSPProblem`` or
        ``LinearOrderingProblem`` record, or anything else.

    Returns
    -------
    QAP, TSP, LinearOrdering, PermutationProblem or object
        EvoFlow's own classes as they are; a QAP, TSP or linear-ordering record wrapped in :class:`QAP`,
        :class:`TSP` or :class:`LinearOrdering`; anything else unchanged, for the caller to refuse.
    """
    if isinstance(problem, NATIVE):
        return problem
    if isinstance(problem, TSPProblem):
        return TSP(problem.D, name=problem.name)
    if isinstance(problem, LinearOrderingProblem):
        return LinearOrdering(problem.W, name=problem.name)
    if isinstance(problem, QAPProblem):
        return QAP(problem.A, problem.B)
    return problem
