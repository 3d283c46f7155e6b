"""Permutation problems that EvoFlow solves natively: the travelling salesman (TSP) and linear ordering.

(QAP, the third, has its own module; a Python callable over permutations is :class:`mezan.evo.PermutationProblem`,
which has no wire form: a function cannot travel as JSON.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan.errors import InvalidProblemError
from mezan.problems.fingerprint import Fingerprinted, shapes
from mezan.problems.values import as_matrix, check_scale, max_abs, wire_form


def real_matrix(name: str, value: Any, min_n: int, what: str) -> np.ndarray:
    """A finite square float64 matrix of size >= min_n, read-only (errors name the argument)."""
    matrix = as_matrix(name, value)
    if matrix.shape[0] < min_n:
        raise InvalidProblemError(f"{name} must be at least {min_n}x{min_n} ({what}), got {matrix.shape}")
    matrix = np.array(matrix, dtype=np.float64, order="C")  # a copy: the record owns its data
    matrix.setflags(write=False)
    return matrix


def _matrix_wire(cls: Any, data: Any, key: str) -> Any:
    kind = cls.problem_type
    if not isinstance(data, dict):
        raise InvalidProblemError(f"a {kind} problem must be a JSON object, got {type(data).__name__}")
    if data.get("type", kind) != kind:
        raise InvalidProblemError(f"type must be {kind!r}, got {data.get('type')!r}")
    if key not in data:
        raise InvalidProblemError(f"missing field {key!r}")
    return cls(data[key], name=data.get("name"))


@dataclass(frozen=True, eq=False)
class TSPProblem(Fingerprinted):
    """Travelling salesman: the closed tour of minimum length.

    The tour ``p`` (``p[i]`` = the city visited at step i) minimises ``sum_i D[p[i], p[i+1]]`` (back to ``p[0]``
    at the end).

    Wire form: ``{"type": "tsp", "D": [[...], ...]}`` — D square, finite, real, n >= 3.

    Parameters
    ----------
    D : array_like, shape (n, n)
        Distances between the cities (finite real numbers, n >= 3; need not be symmetric). The record keeps a
        read-only float64 copy.
    name : str, optional
        The instance's name (a label: not part of the fingerprint).

    Raises
    ------
    InvalidProblemError
        When ``D`` is not a finite real square matrix of size 3 or more, or its scale (n max ``abs(D)``) is
        beyond :data:`MAX_OBJECTIVE_SCALE`.
    """

    D: np.ndarray
    name: str | None = None
    problem_type: str = field(default="tsp", init=False)

    def __post_init__(self) -> None:
        D = real_matrix("D", self.D, 3, "a tour needs 3 cities")
        check_scale("D", [D.shape[0], max_abs(D)], what="n max|D| (a bound on every tour length)")
        object.__setattr__(self, "D", D)

    @property
    def n(self) -> int:
        return int(self.D.shape[0])

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> TSPProblem:
        return _matrix_wire(cls, data, "D")

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.problem_type, "name": self.name, "D": self.D.tolist()}

    def canonical(self) -> tuple[dict[str, Any], tuple[np.ndarray, ...]]:
        return shapes(D=self.D), (self.D,)


@dataclass(frozen=True, eq=False)
class LinearOrderingProblem(Fingerprinted):
    """Linear ordering: the order of the elements with the largest forward weight.

    The order ``p`` maximises the forward weight ``sum_{i<j} W[p[i], p[j]]`` — equivalently (what EvoFlow
    minimises) the backward weight ``sum_{i<j} W[p[j], p[i]]``.

    Wire form: ``{"type": "linear_ordering", "W": [[...], ...]}`` — W square, finite, real, n >= 2.

    Parameters
    ----------
    W : array_like, shape (n, n)
        ``W[a, b]``: the weight gained when element a comes before element b (finite real numbers, n >= 2). The
        record keeps a read-only float64 copy.
    name : str, optional
        The instance's name (a label: not part of the fingerprint).

    Raises
    ------
    InvalidProblemError
        When ``W`` is not a finite real square matrix of size 2 or more, or its scale (n^2 max ``abs(W)``) is
        beyond :data:`MAX_OBJECTIVE_SCALE`.
    """

    W: np.ndarray
    name: str | None = None
    problem_type: str = field(default="linear_ordering", init=False)

    def __post_init__(self) -> None:
        W = real_matrix("W", self.W, 2, "an order of 2 elements or more")
        n = W.shape[0]
        check_scale("W", [n, n, max_abs(W)], what="n^2 max|W| (a bound on every order's weight)")
        object.__setattr__(self, "W", W)

    @property
    def n(self) -> int:
        return int(self.W.shape[0])

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> LinearOrderingProblem:
        return _matrix_wire(cls, data, "W")

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.problem_type, "name": self.name, "W": self.W.tolist()}

    def canonical(self) -> tuple[dict[str, Any], tuple[np.ndarray, ...]]:
        return shapes(W=self.W), (self.W,)
