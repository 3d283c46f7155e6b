"""AllocFlow: budget and resource allocation as a linear or mixed-integer program, solved by HiGHS.

Formulation (maximise): a quantity variable x_i in [min_i, max_i] per item (integer when asked); a
linear item adds value_i x_i to the objective; an item with a concave piecewise-linear utility gets
one segment variable per breakpoint interval, s_ik in [0, q_k - q_{k-1}], with x_i = min_i + sum_k s_ik
and objective u_i(min_i) + sum_k slope_ik s_ik — concavity (non-increasing slopes) makes the
optimum fill the segments in order, so the objective is the true utility. Constraints: each budget
sum_i cost_ib x_i <= limit_b; each group min_g <= sum_{i in g} x_i <= max_g.

Solved with HiGHS through scipy: ``scipy.optimize.linprog(method="highs")`` when nothing is
integer — then the result has the shadow prices (duals) of the budgets and group limits —, else
``scipy.optimize.milp`` (branch and cut), whose dual bound is reported as ``upper_bound``.
Infeasible problems get a reason: a budget that cannot pay for the minimum quantities, a group
whose limits contradict its items' bounds, or HiGHS's own verdict.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint

from mezan.errors import InvalidParameterError
from mezan.flows import highs
from mezan.problems import AllocationItem, AllocationProblem
from mezan.results import Result
from mezan.running import reports_final_objective, seconds_left, time_limit_seconds

TOLERANCE = 1e-7


@dataclass(frozen=True, kw_only=True, repr=False)  # Result's compact repr
class AllocationResult(Result):
    """Outcome of :func:`solve_allocation`: the common fields of :class:`mezan.results.Result` and AllocFlow's own.

    All fields are keyword-only.

    Parameters
    ----------
    solution : dict of str to float or None, optional
        Item id -> quantity (an int for integer items; also read as :attr:`allocation`); None when there is no
        allocation.
    objective : float or None, optional
        The total value (maximised); None exactly when there is no solution.
    status : Status or str, default "feasible"
        "optimal", "timeout" (the time limit stopped HiGHS: the best allocation it had, or none), "feasible"
        (HiGHS stopped otherwise without a proof), "cancelled", "infeasible" or "unbounded" (``reason`` says
        why).
    lower_bound : float or None, optional
        The objective (a maximisation's solution bounds its optimum from below).
    upper_bound : float or None, optional
        A proven bound on the optimum, equal to the objective when optimal.
    gap : float or None, optional
        (upper_bound - objective) / ``abs(objective)``, when there is a bound.
    solver : str or None, default "allocflow.highs"
        The solver that ran.
    seed : int or None, optional
        Always None: HiGHS is deterministic.
    wall_time : float, default 0.0
        Seconds spent.
    iterations : int, default 0
        Not counted by AllocFlow (0).
    trace : list of (float, float), optional
        (seconds, value) of the allocation found: one point, HiGHS works in one call.
    explanation : str, optional
        The model solved: a linear program (dual simplex) or a mixed-integer program (branch and cut).
    reason : str, optional
        Why the run ended without an allocation, when it did (a budget that cannot pay for the minimum
        quantities, contradictory group limits, HiGHS's verdict, the time limit).
    duals : dict of str to float or None, optional
        Shadow price per constraint (``"budget:<name>"``, ``"group:<name>:min"``, ``"group:<name>:max"``: the
        value gained per unit of relaxation) for pure LPs solved to optimality; None for MILPs.

    Attributes
    ----------
    allocation : dict of str to float or None
        The solution under its allocation name.
    """

    duals: dict[str, float] | None = None
    solver: str | None = "allocflow.highs"

    @property
    def allocation(self) -> dict[str, float] | None:
        """The solution under its allocation name."""
        return self.solution


@dataclass
class AllocationModel:
    c: np.ndarray                      # objective to minimise (= -value)
    constant: float                    # value of the items at their min with utilities
    lower: np.ndarray
    upper: np.ndarray
    integrality: np.ndarray
    A_ub: np.ndarray
    b_ub: np.ndarray
    ub_names: list[str]
    A_eq: np.ndarray
    b_eq: np.ndarray
    quantity: list[int]                # column of each item's quantity


def build_model(problem: AllocationProblem) -> AllocationModel:
    columns: list[tuple[float, float, float | None, bool]] = []  # (objective coefficient, lo, hi, integer)
    quantity, segments, constant = [], [], 0.0
    for item in problem.items:
        quantity.append(len(columns))
        if item.utility is None:
            columns.append((-item.value, item.min, item.max, item.integer))
            segments.append([])
        else:
            columns.append((0.0, item.min, item.max, item.integer))
            constant += item.utility[0][1]
            cols = []
            for (q0, u0), (q1, u1) in zip(item.utility, item.utility[1:], strict=False):
                cols.append(len(columns))
                columns.append((-(u1 - u0) / (q1 - q0), 0.0, q1 - q0, False))
            segments.append(cols)
    m = len(columns)
    c = np.array([col[0] for col in columns])
    lower = np.array([col[1] for col in columns])
    upper = np.array([np.inf if col[2] is None else col[2] for col in columns])
    integrality = np.array([1 if col[3] else 0 for col in columns])
    rows, rhs, names = [], [], []
    for budget, limit in problem.budgets.items():
        row = np.zeros(m)
        for item, col in zip(problem.items, quantity, strict=True):
            row[col] = item.cost.get(budget, 0.0)
        rows.append(row)
        rhs.append(limit)
        names.append(f"budget:{budget}")
    for group, (low, high) in problem.groups.items():
        row = np.zeros(m)
        for item, col in zip(problem.items, quantity, strict=True):
            if item.group == group:
                row[col] = 1.0
        if high is not None:
            rows.append(row)
            rhs.append(high)
            names.append(f"group:{group}:max")
        if low is not None:
            rows.append(-row)
            rhs.append(-low)
            names.append(f"group:{group}:min")
    eq_rows, eq_rhs = [], []
    for item, col, cols in zip(problem.items, quantity, segments, strict=True):
        if cols:  # x_i - sum_k s_ik = min_i
            row = np.zeros(m)
            row[col] = 1.0
            row[cols] = -1.0
            eq_rows.append(row)
            eq_rhs.append(item.min)
    return AllocationModel(c, constant, lower, upper, integrality, np.array(rows).reshape(len(rows), m), np.array(rhs),
                  names, np.array(eq_rows).reshape(len(eq_rows), m), np.array(eq_rhs), quantity)


def _usage_range(item: AllocationItem, weight: float) -> tuple[float, float]:
    """min and max of weight * x over the item's bounds."""
    hi = math.inf if item.max is None else item.max
    ends = [weight * item.min, weight * hi if hi != math.inf or weight == 0 else math.copysign(math.inf, weight)]
    return min(ends), max(ends)


def infeasibility_reason(problem: AllocationProblem) -> str | None:
    """A named reason when a budget or group cannot be met whatever the quantities, else None."""
    for budget, limit in problem.budgets.items():
        least = sum(_usage_range(item, item.cost.get(budget, 0.0))[0] for item in problem.items)
        if least > limit + TOLERANCE * max(1.0, abs(limit)):
            return (f"budget {budget!r} cannot pay for the items' minimum quantities: the least it can cost is "
                    f"{least:g} > {limit:g}")
    for group, (low, high) in problem.groups.items():
        members = [i for i in problem.items if i.group == group]
        most = sum(math.inf if i.max is None else i.max for i in members)
        least = sum(i.min for i in members)
        if low is not None and most < low - TOLERANCE:
            return f"group {group!r} needs at least {low:g} but its items' maxima sum to {most:g}"
        if high is not None and least > high + TOLERANCE:
            return f"group {group!r} allows at most {high:g} but its items' minima sum to {least:g}"
    return None


def unboundedness_reason(problem: AllocationProblem) -> str:
    for item in problem.items:
        if item.max is None and item.utility is None and item.value > 0:
            if all(item.cost.get(b, 0.0) <= 0 for b in problem.budgets) and item.group is None:
                return f"item {item.id!r} has positive value, no max, and costs nothing in any budget"
    return "the value can grow without limit (an item without max whose cost the budgets do not bound)"


def _stopped(why: str | None, start: float, how: str) -> AllocationResult:
    status = "cancelled" if why == "cancelled" else "timeout"
    return AllocationResult(status=status, reason=f"HiGHS was stopped ({why}) before it returned an allocation",
                            wall_time=time.perf_counter() - start, explanation=how)


@reports_final_objective
def solve_allocation(problem: AllocationProblem, *, time_limit: float = 10.0, seed: int | None = None,
                     stop: Any = None, progress: Any = None) -> AllocationResult:
    """Solve an allocation problem: maximise the total value within the budgets, group limits and bounds.

    A linear program (with the shadow prices of the budgets and group limits) when no item is integer, else a
    mixed-integer program, solved by HiGHS (see :mod:`mezan.flows.allocation`). HiGHS runs in an isolated worker
    (:mod:`mezan.flows.highs`), so the solve ends within ``time_limit`` and ``stop`` cancels it at once.
    An infeasibility that is visible before solving (a budget that cannot pay for the minimum quantities,
    contradictory group limits) is reported without calling HiGHS.

    Parameters
    ----------
    problem : AllocationProblem
        The items, budgets and groups.
    time_limit : float or None, default 10.0
        Seconds for the whole solve (None or ``inf``: no limit).
    seed : int or None, optional
        Accepted for the Solver protocol and ignored: HiGHS is deterministic.
    stop : threading.Event, optional
        Anything with ``is_set()``: once set, HiGHS is stopped (status "cancelled", no allocation).
    progress : callable, optional
        ``progress(value, elapsed_seconds)``, called once with the value found (HiGHS works in one call).

    Returns
    -------
    AllocationResult
        The quantities, their total value, the proven bound and, for a pure LP, the duals; or no allocation with
        status "infeasible", "unbounded", "timeout" or "cancelled" and a ``reason``.

    Raises
    ------
    InvalidParameterError
        When ``problem`` is not an :class:`AllocationProblem` or ``time_limit`` is not a positive number of
        seconds.
    """
    start = time.perf_counter()
    if not isinstance(problem, AllocationProblem):
        raise InvalidParameterError(f"problem must be an AllocationProblem, got {type(problem).__name__}")
    del seed, progress  # the Solver protocol's: HiGHS is deterministic; @reports_final_objective reports progress
    time_limit = time_limit_seconds(time_limit)
    reason = infeasibility_reason(problem)
    if reason is not None:
        return AllocationResult(status="infeasible", reason=reason, wall_time=time.perf_counter() - start,
                                explanation="infeasible before solving: " + reason)
    model = build_model(problem)
    integer = bool(model.integrality.any())
    duals = None
    if not integer:
        has_ub, has_eq = len(model.b_ub) > 0, len(model.b_eq) > 0
        res, stopped = highs.linprog(c=model.c, A_ub=model.A_ub if has_ub else None,
                                     b_ub=model.b_ub if has_ub else None, A_eq=model.A_eq if has_eq else None,
                                     b_eq=model.b_eq if has_eq else None,
                                     bounds=list(zip(model.lower, model.upper, strict=True)),
                                     time_limit=seconds_left(time_limit, start), stop=stop)
        if res is None:
            return _stopped(stopped, start, "linear program (HiGHS dual simplex)")
        status_code, x = res.status, res.x
        if res.status == highs.OPTIMAL and len(model.b_ub):
            duals = {name: float(-m) for name, m in zip(model.ub_names, res.ineqlin.marginals, strict=True)}
        bound = None if res.status != highs.OPTIMAL else float(model.constant - res.fun)
        how = "linear program (HiGHS dual simplex)"
    else:
        constraints = []
        if len(model.b_ub):
            constraints.append(LinearConstraint(model.A_ub, -np.inf, model.b_ub))
        if len(model.b_eq):
            constraints.append(LinearConstraint(model.A_eq, model.b_eq, model.b_eq))
        res, stopped = highs.milp(c=model.c, constraints=constraints, integrality=model.integrality,
                                  bounds=Bounds(model.lower, model.upper), time_limit=seconds_left(time_limit, start),
                                  stop=stop)
        if res is None:
            return _stopped(stopped, start, "mixed-integer program (HiGHS branch and cut)")
        status_code, x = res.status, res.x
        dual_bound = getattr(res, "mip_dual_bound", None)
        bound = None if dual_bound is None or not np.isfinite(dual_bound) else float(model.constant - dual_bound)
        how = "mixed-integer program (HiGHS branch and cut)"
    wall = time.perf_counter() - start
    if status_code == highs.INFEASIBLE:
        return AllocationResult(status="infeasible", wall_time=wall, explanation=how,
                                reason="the budgets, group limits and item bounds admit no allocation (HiGHS)")
    if status_code == highs.UNBOUNDED:
        return AllocationResult(status="unbounded", reason=unboundedness_reason(problem), wall_time=wall,
                                explanation=how)
    if x is None:
        return AllocationResult(status="timeout", reason="time limit reached before a feasible allocation",
                                wall_time=wall, explanation=how)
    allocation = {}
    for item, col in zip(problem.items, model.quantity, strict=True):
        q = float(x[col]) + 0.0  # no -0.0
        allocation[item.id] = round(q) if item.integer else q
    objective = sum(item.value_of(allocation[item.id]) for item in problem.items)
    optimal = status_code == highs.OPTIMAL
    if optimal:
        bound = objective if bound is None else max(bound, objective)
    gap = None if bound is None else max(0.0, bound - objective) / max(abs(objective), 1e-12)
    status = highs.solved_status(status_code)
    return AllocationResult(solution=allocation, objective=objective, status=status, duals=duals, upper_bound=bound,
                            lower_bound=objective, gap=gap, wall_time=wall, explanation=how, trace=[(wall, objective)])


def knapsack(values: Any, weights: Any, capacity: float, *, time_limit: float = 10.0) -> AllocationResult:
    """Solve a 0/1 knapsack: choose items maximising the total value within the capacity.

    Each item is taken (quantity 1) or not (0); the problem is solved as an allocation with one budget,
    ``"capacity"`` (:func:`solve_allocation`).

    Parameters
    ----------
    values : array_like, shape (n,)
        The value of each item.
    weights : array_like, shape (n,)
        The weight of each item (same length as ``values``).
    capacity : float
        The largest total weight.
    time_limit : float or None, default 10.0
        Seconds for the solve (None or ``inf``: no limit).

    Returns
    -------
    AllocationResult
        ``solution`` maps each item's index, as a string (``"0"``, ``"1"``, ...), to 0 or 1; ``objective`` is the
        total value.

    Raises
    ------
    InvalidParameterError
        When ``values`` and ``weights`` are not 1-D of the same length, or ``time_limit`` is invalid.
    InvalidProblemError
        When there is no item, or a value, weight or the capacity is not finite or beyond
        :data:`mezan.problems.MAX_LP_VALUE` in magnitude.
    """
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    if values.shape != weights.shape or values.ndim != 1:
        raise InvalidParameterError(f"values and weights must be 1-D of the same length, got {values.shape} and "
                                    f"{weights.shape}")
    items = tuple(AllocationItem(id=str(k), cost={"capacity": float(w)}, value=float(v), min=0.0, max=1.0,
                                 integer=True) for k, (v, w) in enumerate(zip(values, weights, strict=True)))
    return solve_allocation(AllocationProblem(items, {"capacity": float(capacity)}), time_limit=time_limit)
