"""QAPResult: the record every QAP solve returns (the common :class:`mezan.results.Result`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mezan.results import Result


@dataclass(frozen=True, kw_only=True)
class QAPResult(Result):
    """Outcome of one QAP solve: the common fields of :class:`mezan.results.Result` and the QAP's own.

    Attributes
    ----------
    solution : numpy.ndarray of int
        0-based; ``solution[i]`` is the location assigned to facility ``i`` (also read as ``permutation``).
    objective : int or float
        ``sum_ij A[i, j] * B[p[i], p[j]]`` of the permutation (exact int for integer data).
    lower_bound : float or None
        A proven lower bound on the optimum, or None when not computed (large n, or ``maximize=True``);
        ``bound_method`` says which: "gilmore_lawler", "projection" (Hadley, Rendl & Wolkowicz) or
        "branch_and_bound" (then it equals the proven optimum).
    upper_bound : float
        The objective (a minimisation's solution bounds its optimum from above).
    gap : float or None
        ``(objective - lower_bound) / |objective|`` when a bound is known, else None.
    status : Status
        ``optimal`` (objective equals the bound), ``timeout`` (the time limit ended the run), ``cancelled``
        (Ctrl-C, ``stop`` or a cancel request), or ``feasible`` (iteration cap, target reached, or a descent that
        converged); ``reason`` says which in words.
    method, mode
        The algorithm run and the QAPFlow mode that chose it, if any (``explanation`` says why).
    seed, wall_time, iterations, trace
        The seed used (reuse it to reproduce), seconds spent, moves/iterations over all threads, and the anytime
        curve: list of (seconds, best objective).
    solver : str or None
        The registered solver name when run through the registry (``qapflow.enhanced``, ``qap.rots``, ...).
    """

    method: str = ""
    mode: str | None = None
    bound_method: str | None = None

    ARRAY_FIELDS: ClassVar[tuple[str, ...]] = ("solution",)

    @property
    def permutation(self) -> np.ndarray:
        """The solution under its QAP name."""
        return self.solution

    @classmethod
    def _decode(cls, values: dict[str, Any]) -> dict[str, Any]:
        if isinstance(values.get("solution"), np.ndarray):
            values["solution"] = values["solution"].astype(np.int64)
        return values
