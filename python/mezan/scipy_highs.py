"""The calls to scipy's HiGHS that an isolated worker makes (:mod:`mezan.flows.highs` sends them there).

A module of its own, outside :mod:`mezan.flows`, so that a worker that unpickles one of these functions imports
scipy.optimize and nothing else: its start-up is part of the caller's budget.
"""

from __future__ import annotations

import math
from typing import Any

from scipy.optimize import linprog as scipy_linprog
from scipy.optimize import milp as scipy_milp

from mezan.isolated import remaining_seconds

MARGIN_SECONDS = 0.05
"""HiGHS's own time limit is what is left of the call's budget less this (or less a fifth of what is left, when that
is smaller): time to send the answer back."""


def within_budget(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with HiGHS's time limit set to what is left of the caller's budget (unchanged without one)."""
    left = remaining_seconds()
    if not math.isfinite(left):
        return kwargs
    options = dict(kwargs.get("options") or {})
    options["time_limit"] = max(0.01, left - min(MARGIN_SECONDS, 0.2 * left))
    return {**kwargs, "options": options}


def linprog(kwargs: dict[str, Any]) -> Any:
    """``scipy.optimize.linprog(**kwargs)`` within what is left of the caller's budget."""
    return scipy_linprog(**within_budget(kwargs))


def milp(kwargs: dict[str, Any]) -> Any:
    """``scipy.optimize.milp(**kwargs)`` within what is left of the caller's budget."""
    return scipy_milp(**within_budget(kwargs))
