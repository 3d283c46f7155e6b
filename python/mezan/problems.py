"""Typed problem records shared by every layer (API, CLI, service).

Each record validates its data at construction and raises :class:`mezan.errors.InvalidProblemError`
with a message naming the field; ``to_dict``/``from_dict`` give the JSON wire form and
``fingerprint()`` a stable sha256 of a canonical encoding.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan.errors import InvalidProblemError


def as_matrix(name: str, value: Any) -> np.ndarray:
    """Convert ``value`` to a finite, numeric, square 2-D array, naming ``name`` in every error."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise InvalidProblemError(f"{name} cannot be read as a matrix: {exc}") from exc
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InvalidProblemError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise InvalidProblemError(f"{name} must be a square 2-D matrix, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr)
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            raise InvalidProblemError(f"{name} has a non-finite value ({arr[i, j]}) at [{i}, {j}]")
    return arr


@dataclass(frozen=True, eq=False)
class QAPProblem:
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
        A.setflags(write=False)
        B.setflags(write=False)
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
    def from_dict(cls, data: dict[str, Any]) -> QAPProblem:
        if not isinstance(data, dict):
            raise InvalidProblemError(f"a QAP problem must be a JSON object, got {type(data).__name__}")
        if data.get("type", "qap") != "qap":
            raise InvalidProblemError(f"type must be 'qap', got {data.get('type')!r}")
        for key in ("A", "B"):
            if key not in data:
                raise InvalidProblemError(f"missing field {key!r}")
        return cls(data["A"], data["B"], name=data.get("name"), best_known=data.get("best_known"))

    def fingerprint(self) -> str:
        """sha256 of the canonical encoding (type, shape, values as float64 little-endian)."""
        h = hashlib.sha256()
        h.update(json.dumps({"type": self.problem_type, "n": self.n}).encode())
        for m in (self.A, self.B):
            h.update(np.ascontiguousarray(m, dtype="<f8").tobytes())
        return h.hexdigest()
