"""QAPResult: the record every QAP solve returns (the common :class:`mezan.results.Result`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mezan.results import Result


@dataclass(frozen=True, kw_only=True, repr=False)  # Result's compact repr
class QAPResult(Result):
    """Outcome of one QAP solve: the common fields of :class:`mezan.results.Result` and the QAP's own.

    Every QAP solve (:func:`mezan.qap.solve`, the ``qap.*`` and ``qapflow.*`` solvers) returns one; the fields are
    keyword-only.

    Parameters
    ----------
    solution : numpy.ndarray of int, optional
        0-based; ``solution[i]`` is the location assigned to facility ``i`` (also read as ``permutation``).
    objective : int or float, optional
        ``sum_ij A[i, j] * B[p[i], p[j]]`` of the permutation (exact int for integer data).
    status : Status or str, default "feasible"
        ``optimal`` (objective equals the bound), ``timeout`` (the time limit ended the run), ``cancelled``
        (Ctrl-C, ``stop`` or a cancel request), or ``feasible`` (iteration cap, target reached, or a descent that
        converged); ``reason`` says which in words.
    lower_bound : float or None, optional
        A proven lower bound on the optimum, or None when not computed (large n, or ``maximize=True``);
        ``bound_method`` says which.
    upper_bound : float or None, optional
        The objective (a minimisation's solution bounds its optimum from above).
    gap : float or None, optional
        ``(objective - lower_bound) / abs(objective)`` when a bound is known, else None.
    solver : str or None, optional
        The registered solver name when run through the registry (``qapflow.enhanced``, ``qap.rots``, ...).
    seed : int or None, optional
        The seed used (reuse it to reproduce).
    wall_time : float, default 0.0
        Seconds spent.
    iterations : int, default 0
        Moves or iterations over all threads.
    trace : list of tuple of float, optional
        The anytime curve: (seconds, best objective) pairs.
    explanation : str, default ""
        Why this method or mode, and what it did.
    reason : str, default ""
        Why the run ended as it did, in words.
    method : str, default ""
        The algorithm run, a name of :data:`mezan.qap.METHODS`.
    mode : str or None, optional
        The QAPFlow mode that chose the method, if any (``explanation`` says why).
    bound_method : str or None, optional
        Which bound ``lower_bound`` is: "gilmore_lawler", "projection" (Hadley, Rendl & Wolkowicz) or
        "branch_and_bound" (then it equals the proven optimum); None without a bound.

    Attributes
    ----------
    permutation : numpy.ndarray of int
        The solution under its QAP name (read-only).

    Raises
    ------
    mezan.errors.InvalidParameterError
        When ``status`` is not a status name, or exactly one of ``solution`` and ``objective`` is None.
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
