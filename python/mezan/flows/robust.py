"""DualFlow: robust (min–max over a finite scenario set) and adversarial (zero-sum game) optimisation.

- Robust assignment: binary x_ij (one per row and per column) and a worst-case level t; minimise t
  subject to sum_ij C^s_ij x_ij <= t for every scenario s — a MILP solved by HiGHS
  (``scipy.optimize.milp``). The nominal optimum is the LAP of the nominal scenario.
- Robust allocation: AllocFlow's model with one more variable t; maximise t subject to
  t <= sum_i v^s_i x_i for every scenario (an LP, or a MILP with integer items).
- Robust QAP: EvoFlow's genetic algorithm (uniform-like crossover, swap mutation) on the worst-case
  objective max_s f_s(p), each f_s evaluated by the C++ core, for 80 % of the budget; the nominal
  scenario alone gets the other 20 % with QAPFlow's auto mode (exact for n <= 15). Heuristic: the
  bound reported is max_s GLB_s (every scenario's Gilmore–Lawler bound bounds the min–max).
- Matrix game: the row player's maximin mixed strategy from the LP max v s.t. p^T A >= v, sum p = 1,
  p >= 0, and the column player's minimax strategy from the dual LP; by the minimax theorem both give
  the game's value (von Neumann 1928).

Each robust result reports the solution, its worst-case scenario and value, its value in every
scenario, the nominal optimum and the price of robustness: how much worse than the nominal optimum
the robust solution does in the nominal scenario.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment

from mezan import _core
from mezan.errors import InvalidParameterError
from mezan.evo import evolve
from mezan.flows import highs
from mezan.flows.allocation import AllocationResult, build_model, infeasibility_reason, solve_allocation
from mezan.problems import (
    AllocationItem,
    AllocationProblem,
    MatrixGameProblem,
    RobustAllocationProblem,
    RobustAssignmentProblem,
    RobustQAPProblem,
)
from mezan.qap import gilmore_lawler_bound, solve
from mezan.results import Result
from mezan.running import reports_final_objective, seconds_left, time_limit_seconds


@dataclass(frozen=True, kw_only=True)
class RobustResult(Result):
    """Outcome of the robust solvers: the common fields of :class:`mezan.results.Result` and DualFlow's own.

    ``solution``: a permutation (robust assignment, robust QAP) or item -> quantity (robust allocation), or None;
    ``objective``: the worst-case value over the scenarios; ``worst_scenario``: its index; ``scenario_values``: the
    solution's value in every scenario; ``nominal_optimum``: the best value in the nominal scenario alone;
    ``price_of_robustness``: |robust solution's nominal value - nominal_optimum| (>= 0); ``lower_bound``: a proven
    bound on the best worst case when known (minimisation)."""

    worst_scenario: int | None = None
    scenario_values: list[float] = field(default_factory=list)
    nominal_optimum: float | None = None
    price_of_robustness: float | None = None

    ARRAY_FIELDS: ClassVar[tuple[str, ...]] = ("solution",)  # a permutation; an allocation stays a dict


@dataclass(frozen=True, kw_only=True)
class GameResult(Result):
    """Outcome of :func:`solve_matrix_game`: ``solution`` is the row player's optimal mixed strategy (also read as
    ``row_strategy``), ``column_strategy`` the column player's, ``objective`` the value of the game to the row
    player (both LPs agree on it)."""

    column_strategy: np.ndarray | None = None
    solver: str | None = "dualflow.matrix_game"

    ARRAY_FIELDS: ClassVar[tuple[str, ...]] = ("solution", "column_strategy")

    @property
    def row_strategy(self) -> np.ndarray | None:
        """The solution under its game name."""
        return self.solution

    @property
    def value(self) -> float | None:
        """The objective under its game name: the value of the game to the row player."""
        return self.objective


@reports_final_objective
def solve_robust_assignment(problem: RobustAssignmentProblem, *, time_limit: float = 10.0, seed: int | None = None,
                            stop: Any = None, progress: Any = None) -> RobustResult:
    """Min–max assignment over the cost scenarios (see the module docstring)."""
    start = time.perf_counter()
    if not isinstance(problem, RobustAssignmentProblem):
        raise InvalidParameterError(f"problem must be a RobustAssignmentProblem, got {type(problem).__name__}")
    del seed, progress  # the Solver protocol's: HiGHS is deterministic; @reports_final_objective reports progress
    limit = time_limit_seconds(time_limit)
    costs = problem.costs
    scenarios, n = costs.shape[0], costs.shape[1]
    m = n * n + 1  # x_ij row-major, then t
    c = np.zeros(m)
    c[-1] = 1.0
    rows = np.zeros((2 * n, m))
    for i in range(n):
        rows[i, i * n:(i + 1) * n] = 1.0  # facility i assigned once
        rows[n + i, i:n * n:n] = 1.0      # location i used once
    worst = np.hstack([costs.reshape(scenarios, n * n), -np.ones((scenarios, 1))])
    constraints = [LinearConstraint(rows, 1.0, 1.0), LinearConstraint(worst, -np.inf, 0.0)]
    integrality = np.ones(m)
    integrality[-1] = 0
    lower, upper = np.zeros(m), np.ones(m)
    lower[-1], upper[-1] = -np.inf, np.inf
    res, stopped = highs.milp(c=c, constraints=constraints, integrality=integrality, bounds=Bounds(lower, upper),
                              time_limit=seconds_left(limit, start), stop=stop)
    wall = time.perf_counter() - start
    if res is None or res.x is None:
        return RobustResult(status="cancelled" if stopped == "cancelled" else "timeout",
                            reason=f"HiGHS stopped ({stopped or 'time limit'}) before an assignment",
                            wall_time=wall, solver="dualflow.robust_assignment")
    x = res.x[:-1].reshape(n, n)
    permutation = np.argmax(x, axis=1)
    values = [float(costs[s][np.arange(n), permutation].sum()) for s in range(scenarios)]
    rows_nominal, cols_nominal = linear_sum_assignment(costs[problem.nominal])
    nominal_optimum = float(costs[problem.nominal][rows_nominal, cols_nominal].sum())
    worst_scenario = int(np.argmax(values))
    return RobustResult(solution=permutation, objective=max(values), upper_bound=max(values),
                        status="optimal" if res.status == 0 else "timeout" if res.status == 1 else "feasible",
                        worst_scenario=worst_scenario, scenario_values=values, nominal_optimum=nominal_optimum,
                        price_of_robustness=values[problem.nominal] - nominal_optimum, wall_time=wall,
                        lower_bound=max(values) if res.status == 0 else None, solver="dualflow.robust_assignment",
                        explanation=f"min-max assignment over {scenarios} scenarios (HiGHS MILP); nominal "
                                    f"optimum by LAP on scenario {problem.nominal}")


@reports_final_objective
def solve_robust_allocation(problem: RobustAllocationProblem, *, time_limit: float = 10.0, seed: int | None = None,
                            stop: Any = None, progress: Any = None) -> RobustResult:
    """Max–min allocation over the value scenarios (see the module docstring)."""
    start = time.perf_counter()
    if not isinstance(problem, RobustAllocationProblem):
        raise InvalidParameterError(f"problem must be a RobustAllocationProblem, got {type(problem).__name__}")
    del seed, progress  # the Solver protocol's: HiGHS is deterministic; @reports_final_objective reports progress
    limit = time_limit_seconds(time_limit)
    base = problem.base
    reason = infeasibility_reason(base)
    if reason is not None:
        return RobustResult(status="infeasible", reason=reason, solver="dualflow.robust_allocation")
    model = build_model(base)
    m = len(model.c) + 1  # AllocFlow's columns, then t
    scenario_values = [problem.values(s) for s in range(len(problem.scenarios))]
    c = np.zeros(m)
    c[-1] = -1.0  # maximise t
    worst = np.zeros((len(scenario_values), m))
    for s, values in enumerate(scenario_values):  # t - sum_i v_si x_i <= 0
        for item, col in zip(base.items, model.quantity, strict=True):
            worst[s, col] = -values[item.id]
        worst[s, -1] = 1.0
    constraints = [LinearConstraint(worst, -np.inf, 0.0)]
    if len(model.b_ub):
        constraints.append(LinearConstraint(np.hstack([model.A_ub, np.zeros((len(model.b_ub), 1))]), -np.inf,
                                            model.b_ub))
    lower = np.append(model.lower, -np.inf)
    upper = np.append(model.upper, np.inf)
    res, stopped = highs.milp(c=c, constraints=constraints, integrality=np.append(model.integrality, 0),
                              bounds=Bounds(lower, upper), time_limit=seconds_left(limit, start), stop=stop)
    wall = time.perf_counter() - start
    if res is None:
        return RobustResult(status="cancelled" if stopped == "cancelled" else "timeout",
                            reason=f"HiGHS stopped ({stopped}) before an allocation", wall_time=wall,
                            solver="dualflow.robust_allocation")
    if res.status == 2:
        return RobustResult(status="infeasible", reason="the budgets, group limits and item bounds admit no "
                            "allocation (HiGHS)", wall_time=wall, solver="dualflow.robust_allocation")
    if res.status == 3:
        return RobustResult(status="unbounded", reason="the worst-case value can grow without limit",
                            wall_time=wall, solver="dualflow.robust_allocation")
    if res.x is None:
        return RobustResult(status="timeout", reason="time limit reached before an allocation", wall_time=wall,
                            solver="dualflow.robust_allocation")
    allocation = {item.id: (round(res.x[col]) if item.integer else float(res.x[col]) + 0.0)  # no -0.0
                  for item, col in zip(base.items, model.quantity, strict=True)}
    values = [sum(v[i] * allocation[i] for i in allocation) for v in scenario_values]
    nominal_items = tuple(AllocationItem(id=i.id, cost=i.cost, value=scenario_values[problem.nominal][i.id],
                                         min=i.min, max=i.max, integer=i.integer, group=i.group)
                          for i in base.items)
    left = seconds_left(limit, start)  # the nominal optimum, for the price of robustness, only within the budget
    nominal = (solve_allocation(AllocationProblem(nominal_items, base.budgets, base.groups), time_limit=left, stop=stop)
               if left > 0 else AllocationResult(status="timeout", reason="no time left for the nominal optimum"))
    worst_scenario = int(np.argmin(values))
    return RobustResult(solution=allocation, objective=min(values), lower_bound=min(values),
                        status="optimal" if res.status == 0 else "timeout" if res.status == 1 else "feasible",
                        worst_scenario=worst_scenario, scenario_values=values, nominal_optimum=nominal.objective,
                        price_of_robustness=(None if nominal.objective is None
                                             else nominal.objective - values[problem.nominal]),
                        wall_time=time.perf_counter() - start, solver="dualflow.robust_allocation",
                        explanation=f"max-min allocation over {len(values)} scenarios (HiGHS)")


@reports_final_objective
def solve_matrix_game(problem: MatrixGameProblem, *, time_limit: float = 10.0, seed: int | None = None,
                      stop: Any = None, progress: Any = None) -> GameResult:
    """Optimal mixed strategies and value of a zero-sum matrix game, by the two LPs of the module docstring."""
    start = time.perf_counter()
    if not isinstance(problem, MatrixGameProblem):
        raise InvalidParameterError(f"problem must be a MatrixGameProblem, got {type(problem).__name__}")
    del seed, progress  # the Solver protocol's: HiGHS is deterministic; @reports_final_objective reports progress
    limit = time_limit_seconds(time_limit)
    A = problem.payoff
    rows, cols = A.shape
    # Row player: variables (p, v); maximise v s.t. v - (A^T p)_j <= 0, sum p = 1.
    row, stopped = highs.linprog(c=np.append(np.zeros(rows), -1.0), A_ub=np.hstack([-A.T, np.ones((cols, 1))]),
                                 b_ub=np.zeros(cols), A_eq=np.append(np.ones(rows), 0.0).reshape(1, -1), b_eq=[1.0],
                                 bounds=[(0, None)] * rows + [(None, None)], time_limit=seconds_left(limit, start),
                                 stop=stop)
    # Column player: variables (q, w); minimise w s.t. (A q)_i - w <= 0, sum q = 1.
    col = None
    left = seconds_left(limit, start)
    if row is not None and left > 0:
        col, stopped = highs.linprog(c=np.append(np.zeros(cols), 1.0), A_ub=np.hstack([A, -np.ones((rows, 1))]),
                                     b_ub=np.zeros(rows), A_eq=np.append(np.ones(cols), 0.0).reshape(1, -1),
                                     b_eq=[1.0], bounds=[(0, None)] * cols + [(None, None)], time_limit=left,
                                     stop=stop)
    if row is None or col is None or row.x is None or col.x is None:
        why = stopped or "HiGHS found no optimal strategy"
        return GameResult(status="cancelled" if stopped == "cancelled" else "timeout",
                          wall_time=time.perf_counter() - start, explanation=f"the game's LPs were not solved ({why})")
    value = float(-row.fun) + 0.0
    return GameResult(solution=np.clip(row.x[:-1], 0, None), column_strategy=np.clip(col.x[:-1], 0, None),
                      objective=value,
                      lower_bound=value, upper_bound=value, status="optimal",
                      wall_time=time.perf_counter() - start,
                      explanation=f"maximin LP value {value:.6g}, minimax LP value {float(col.fun):.6g}")


@reports_final_objective
def solve_robust_qap(problem: RobustQAPProblem, *, time_limit: float = 10.0, seed: int | None = None,
                     stop: Any = None, progress: Any = None) -> RobustResult:
    """Min–max QAP over the scenarios (see the module docstring)."""
    if not isinstance(problem, RobustQAPProblem):
        raise InvalidParameterError(f"problem must be a RobustQAPProblem, got {type(problem).__name__}")

    limit = time_limit_seconds(time_limit)
    if math.isinf(limit):
        raise InvalidParameterError("the robust QAP is a heuristic: give it a finite time_limit")
    start = time.perf_counter()
    pairs = [(np.ascontiguousarray(q.A, dtype=np.float64), np.ascontiguousarray(q.B, dtype=np.float64))
             for q in (problem.scenario(s) for s in range(problem.scenarios))]

    def worst(p: np.ndarray) -> float:
        perm = np.asarray(p, dtype=np.int32)
        return max(_core.objective_f64(A, B, perm) for A, B in pairs)

    evo = evolve(worst, problem.n, time_limit=0.8 * limit, seed=seed, crossover="uniform", mutation="swap",
                 stop=stop, callback=progress)
    best = np.asarray(evo.best, dtype=np.int64)
    values = [float(_core.objective_f64(A, B, best.astype(np.int32))) for A, B in pairs]
    nominal_problem = problem.scenario(problem.nominal)
    nominal = solve(nominal_problem, None, time_limit=max(0.05, 0.2 * limit), seed=seed, lower_bound=False, stop=stop)
    nominal_best = min(float(nominal.objective), values[problem.nominal])
    bound = max(gilmore_lawler_bound(problem.scenario(s)) for s in range(problem.scenarios))
    worst_scenario = int(np.argmax(values))
    return RobustResult(solution=best, objective=max(values), upper_bound=max(values), seed=evo.seed,
                        status="cancelled" if evo.status == "cancelled" else "timeout", worst_scenario=worst_scenario,
                        scenario_values=values,
                        nominal_optimum=nominal_best, price_of_robustness=values[problem.nominal] - nominal_best,
                        lower_bound=bound, wall_time=time.perf_counter() - start, solver="dualflow.robust_qap",
                        explanation=f"min-max QAP over {problem.scenarios} scenarios: EvoFlow GA on the worst case "
                                    f"({evo.evaluations} evaluations); lower bound: the largest scenario "
                                    f"Gilmore-Lawler bound; nominal best by QAPFlow {nominal.method}")
