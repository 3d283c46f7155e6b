"""HiGHS (through ``scipy.optimize``) as a solve that always ends within its budget and honours cancel.

scipy's ``linprog``/``milp`` take a time limit but no cancel signal, and a pathological model can make
HiGHS overrun its limit. Every HiGHS call of the flows goes through :func:`linprog` or :func:`milp`
here: the call runs in an isolated worker process (:func:`mezan.isolated.run_isolated`) that is terminated
when ``stop`` is set or when the budget plus a grace period has passed. The result is scipy's own
``OptimizeResult``, or None with the reason (``"cancelled"`` or ``"time_limit"``) when the worker was stopped.
"""

from __future__ import annotations

import math
from typing import Any

from mezan.isolated import preload, run_isolated

preload("scipy.optimize")


def _linprog(kwargs: dict[str, Any]) -> Any:
    from scipy.optimize import linprog as scipy_linprog

    return scipy_linprog(**kwargs)


def _milp(kwargs: dict[str, Any]) -> Any:
    from scipy.optimize import milp as scipy_milp

    return scipy_milp(**kwargs)


def _call(fn: Any, kwargs: dict[str, Any], time_limit: float, stop: Any) -> tuple[Any, str | None]:
    options = dict(kwargs.pop("options", None) or {})
    if math.isfinite(time_limit):
        options["time_limit"] = time_limit
    run = run_isolated(fn, {**kwargs, "options": options}, time_limit=time_limit, stop=stop)
    return run.value, run.stopped


def linprog(*, time_limit: float = math.inf, stop: Any = None, **kwargs: Any) -> tuple[Any, str | None]:
    """``scipy.optimize.linprog(method="highs", **kwargs)`` within ``time_limit`` seconds, cancelled by ``stop``:
    (result, None), or (None, "cancelled" | "time_limit")."""
    return _call(_linprog, {"method": "highs", **kwargs}, time_limit, stop)


def milp(*, time_limit: float = math.inf, stop: Any = None, **kwargs: Any) -> tuple[Any, str | None]:
    """``scipy.optimize.milp(**kwargs)`` within ``time_limit`` seconds, cancelled by ``stop``: (result, None), or
    (None, "cancelled" | "time_limit")."""
    return _call(_milp, kwargs, time_limit, stop)
