"""The quadratic assignment problem record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan.errors import InvalidProblemError
from mezan.problems.fingerprint import Fingerprinted
from mezan.problems.values import as_matrix, check_scale, max_abs, read_only, wire_form


@dataclass(frozen=True, eq=False)
class QAPProblem(Fingerprinted):
    """Quadratic assignment: minimise ``sum_ij A[i, j] * B[p[i], p[j]]`` over permutations ``p``.

    Parameters
    ----------
    A, B : array_like, shape (n, n)
        Flow (facilities) and distance (locations) matrices, finite real numbers, n >= 2.
    name : str, optional
        Instance name (e.g. the QAPLIB name, used to look up a best-known value).
    best_known : float, optional
        A reference objective (best known or proven optimum), used to report gaps.
    """

    A: np.ndarray
    B: np.ndarray
    name: str | None = None
    best_known: float | None = None
    problem_type: str = field(default="qap", init=False)

    def __post_init__(self) -> None:
        A = as_matrix("A", self.A)
        B = as_matrix("B", self.B)
        if A.shape != B.shape:
            raise InvalidProblemError(f"A and B must have the same shape, got A {A.shape} and B {B.shape}")
        if A.shape[0] < 2:
            raise InvalidProblemError(f"A and B must be at least 2x2 (a QAP needs n >= 2), got n = {A.shape[0]}")
        n = A.shape[0]
        check_scale("A and B", [n, n, max_abs(A), max_abs(B)],
                    what="n^2 max|A| max|B| (a bound on every objective)")
        A, B = read_only(A, self.A), read_only(B, self.B)
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "B", B)

    @property
    def n(self) -> int:
        return int(self.A.shape[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.problem_type,
            "name": self.name,
            "best_known": self.best_known,
            "A": self.A.tolist(),
            "B": self.B.tolist(),
        }

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> QAPProblem:
        if not isinstance(data, dict):
            raise InvalidProblemError(f"a QAP problem must be a JSON object, got {type(data).__name__}")
        if data.get("type", "qap") != "qap":
            raise InvalidProblemError(f"type must be 'qap', got {data.get('type')!r}")
        for key in ("A", "B"):
            if key not in data:
                raise InvalidProblemError(f"missing field {key!r}")
        return cls(data["A"], data["B"], name=data.get("name"), best_known=data.get("best_known"))

    def canonical(self) -> tuple[dict[str, Any], tuple[np.ndarray, ...]]:
        """n, then A and B (name and best_known are labels, not data): the bytes QAP fingerprints have always
        had, kept so that the fingerprints in MetaFlow stores stay valid."""
        return {"n": self.n}, (self.A, self.B)
