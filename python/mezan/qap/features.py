"""Instance features of a QAP and the structure of its matrices.

Used by the ``instance_adaptive`` mode (a documented rule set) and, later, by MetaFlow. Everything
here is O(n^2) work; no search is run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mezan import _core
from mezan.errors import InvalidProblemError
from mezan.problems import QAPProblem


def detect_structure(M: np.ndarray, tol: float = 1e-9) -> str:
    """Structure of a square matrix, as the FFT products see it (detected by the C++ core):

    ``"circulant"`` (``M[i, j]`` depends only on ``(j - i) mod n``), ``"toeplitz"`` (only on ``j - i``),
    ``"grid_manhattan"`` / ``"grid_euclidean"`` (a multiple of the distance matrix of a rows x cols
    lattice in row-major order, rows >= 2), or ``"dense"``. ``tol`` is relative to max |M|.
    """
    M = np.ascontiguousarray(M, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise InvalidProblemError(f"detect_structure needs a square matrix, got shape {M.shape}")
    return _core.detect_structure(M, float(tol))[0]


def is_dense(M: np.ndarray) -> bool:
    """True when at least 95 % of the square matrix's off-diagonal entries are non-zero (the C++ core's rule, which
    ``auto`` and the memetic search's defaults read: both matrices dense is QAPLIB's tai..a, rou, had, lipa). A NaN
    counts as non-zero; a matrix of size 0 or 1 has no off-diagonal entry and counts as dense."""
    shape = np.shape(M)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise InvalidProblemError(f"is_dense needs a square matrix, got shape {shape}")
    M = np.ascontiguousarray(M, dtype=np.float64)
    return bool(_core.dense_matrix(M))


def _dominance(M: np.ndarray) -> float:
    """Coefficient of variation x 100 of the off-diagonal entries (flow/distance dominance)."""
    off = M[~np.eye(M.shape[0], dtype=bool)].astype(np.float64)
    mean = float(np.mean(off))
    return float(100.0 * np.std(off) / mean) if mean else float("inf")


def features(problem: QAPProblem) -> dict[str, Any]:
    """Size, densities, flow and distance dominance, symmetry and detected structure of a QAP."""
    A, B = problem.A, problem.B
    n = problem.n
    off = ~np.eye(n, dtype=bool)
    return {
        "n": n,
        "density_A": float(np.count_nonzero(A[off]) / (n * (n - 1))),
        "density_B": float(np.count_nonzero(B[off]) / (n * (n - 1))),
        "flow_dominance": _dominance(A),
        "distance_dominance": _dominance(B),
        "symmetric": bool(np.array_equal(A, A.T) and np.array_equal(B, B.T)),
        "structure_A": detect_structure(A),
        "structure_B": detect_structure(B),
    }


def adaptive_method(f: dict[str, Any]) -> tuple[str, str]:
    """The ``instance_adaptive`` rule set: (method, why), from :func:`features`.

    1. n <= 15: exact branch and bound (proves optimality within seconds here).
    2. Dense, low-dominance flows and distances (uniform random, like tai..a and rou: both densities
       >= 0.8, both dominances < 80): ``hybrid`` — on bench/qaplib_modes.py (10 s) it had the
       lowest tai*a mean gap of the modes measured (0.254 % vs 0.284 % for enhanced).
    3. Everything else — sparse or dominant flows or distances (tai..b, bur, chr, els, esc, kra, nug,
       scr, ste, tho): ``memetic`` (enhanced), which reached every best-known value of those families
       on that benchmark except tho40 (0.011 %).
    Until MetaFlow supplies a learned policy this is the whole rule set.
    """
    if f["n"] <= 15:
        return "bnb", f"instance_adaptive: n = {f['n']} <= 15, exact branch and bound"
    uniform = min(f["density_A"], f["density_B"]) >= 0.8 and max(f["flow_dominance"], f["distance_dominance"]) < 80
    if uniform:
        return "hybrid", (
            f"instance_adaptive: dense uniform-like data (densities {f['density_A']:.2f}/{f['density_B']:.2f}, "
            f"dominances {f['flow_dominance']:.0f}/{f['distance_dominance']:.0f}): relaxation then RoTS"
        )
    return "memetic", (
        f"instance_adaptive: structured or dominant data (structure of B: {f['structure_B']}, flow dominance "
        f"{f['flow_dominance']:.0f}, density of A {f['density_A']:.2f}): memetic algorithm"
    )
