"""QAPResult: the record every QAP solve returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class QAPResult:
    """Outcome of one QAP solve.

    Attributes
    ----------
    permutation : numpy.ndarray of int
        0-based; ``permutation[i]`` is the location assigned to facility ``i``.
    objective : int or float
        ``sum_ij A[i, j] * B[p[i], p[j]]`` of ``permutation`` (exact int for integer data).
    lower_bound : float or None
        A proven lower bound on the optimum, or None when not computed (large n, or
        ``maximize=True``); ``bound_method`` says which: "gilmore_lawler", "projection" (Hadley,
        Rendl & Wolkowicz) or "branch_and_bound" (then it equals the proven optimum).
    gap : float or None
        ``(objective - lower_bound) / |objective|`` when a bound is known, else None.
    status : str
        ``"optimal"`` (objective equals the bound), ``"timeout"`` (the time limit ended the run),
        ``"cancelled"`` (Ctrl-C, a callback or a cancel request), or ``"feasible"`` (iteration cap,
        target reached, or a descent that converged).
    method, mode, explanation, seed, wall_time, iterations, trace
        The algorithm run (the QAPFlow mode that chose it, if any, and why), the seed used (reuse it to
        reproduce), seconds spent, moves/iterations done over all threads, and the anytime curve:
        list of (seconds, best objective).
    solver : str or None
        The registered solver name when run through the registry by :func:`mezan.solve`
        (``qapflow.enhanced``, ``qap.rots``, ...).
    """

    permutation: np.ndarray
    objective: float
    lower_bound: float | None
    gap: float | None
    status: str
    method: str
    seed: int
    wall_time: float
    iterations: int
    trace: list[tuple[float, float]] = field(default_factory=list)
    message: str = ""
    mode: str | None = None
    bound_method: str | None = None
    explanation: str = ""
    solver: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (permutation as a list of ints)."""
        return {
            "permutation": [int(x) for x in self.permutation],
            "objective": self.objective,
            "lower_bound": self.lower_bound,
            "gap": self.gap,
            "status": self.status,
            "method": self.method,
            "mode": self.mode,
            "bound_method": self.bound_method,
            "explanation": self.explanation,
            "solver": self.solver,
            "seed": self.seed,
            "wall_time": self.wall_time,
            "iterations": self.iterations,
            "trace": [[float(t), v] for t, v in self.trace],
            "message": self.message,
        }
