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

from mezan import scipy_highs
from mezan.isolated import preload, prewarm, run_isolated

preload("mezan.scipy_highs")  # scipy.optimize and the calls below, imported by every worker when it starts
prewarm()  # a worker starts now, so that the first call's budget is not spent on its start-up


OPTIMAL, LIMIT, INFEASIBLE, UNBOUNDED = 0, 1, 2, 3
"""scipy's HiGHS status codes (``linprog`` and ``milp``): proven optimal, a time or iteration limit, proven
infeasible, proven unbounded; 4 is numerical trouble."""


def solved_status(code: int) -> str:
    """The status of a HiGHS answer that holds a solution: "optimal" (proven), "timeout" (the limit stopped it
    with an incumbent), else "feasible"."""
    return "optimal" if code == OPTIMAL else "timeout" if code == LIMIT else "feasible"


def _call(fn: Any, kwargs: dict[str, Any], time_limit: float, stop: Any) -> tuple[Any, str | None]:
    run = run_isolated(fn, kwargs, time_limit=time_limit, stop=stop)
    return run.value, run.stopped


def linprog(*, time_limit: float = math.inf, stop: Any = None, **kwargs: Any) -> tuple[Any, str | None]:
    """``scipy.optimize.linprog(method="highs", **kwargs)`` within ``time_limit`` seconds, cancelled by ``stop``:
    (result, None), or (None, "cancelled" | "time_limit")."""
    return _call(scipy_highs.linprog, {"method": "highs", **kwargs}, time_limit, stop)


def milp(*, time_limit: float = math.inf, stop: Any = None, **kwargs: Any) -> tuple[Any, str | None]:
    """``scipy.optimize.milp(**kwargs)`` within ``time_limit`` seconds, cancelled by ``stop``: (result, None), or
    (None, "cancelled" | "time_limit")."""
    return _call(scipy_highs.milp, kwargs, time_limit, stop)
