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


@dataclass(frozen=True, kw_only=True, repr=False)  # Result's compact repr
class RobustResult(Result):
    """Outcome of the robust solvers: the common fields of :class:`mezan.results.Result` and DualFlow's own.

    Returned by :func:`solve_robust_assignment`, :func:`solve_robust_qap` and :func:`solve_robust_allocation`.
    All fields are keyword-only.

    Parameters
    ----------
    solution : numpy.ndarray or dict of str to float or None, optional
        A permutation (robust assignment, robust QAP: ``solution[i]`` is the location of facility i) or item id
        -> quantity (robust allocation); None when there is no solution.
    objective : float or None, optional
        The solution's worst-case value over the scenarios (the largest cost, or the smallest value for an
        allocation); None exactly when there is no solution.
    status : Status or str, default "feasible"
        "optimal", "feasible", "timeout" (always, unless cancelled, for the robust QAP: a heuristic that runs
        for its whole budget), "cancelled", "infeasible" or "unbounded" (``reason`` says why).
    lower_bound : float or None, optional
        A proven bound on the best worst case when known: for a minimisation (assignment, QAP) a bound below it
        (the objective when optimal; the largest scenario Gilmore–Lawler bound for the QAP); for the allocation,
        the objective.
    upper_bound : float or None, optional
        The objective, for the minimisations.
    gap : float or None, optional
        Not set by DualFlow (None).
    solver : str or None, optional
        The solver that ran (``dualflow.robust_assignment``, ``dualflow.robust_qap`` or
        ``dualflow.robust_allocation``).
    seed : int or None, optional
        The seed the robust QAP's genetic algorithm used; None for the HiGHS models.
    wall_time : float, default 0.0
        Seconds spent.
    iterations : int, default 0
        Not counted by DualFlow (0).
    trace : list of (float, float), optional
        Not recorded by DualFlow (empty).
    explanation : str, optional
        The method used.
    reason : str, optional
        Why there is no solution, when there is none.
    worst_scenario : int or None, optional
        The index of the scenario where the solution does worst.
    scenario_values : list of float, optional
        The solution's value in every scenario.
    nominal_optimum : float or None, optional
        The best value in the nominal scenario alone (for the robust QAP: the best found, not proven).
    price_of_robustness : float or None, optional
        How much worse the robust solution does in the nominal scenario than ``nominal_optimum``
        (``abs(nominal value - nominal_optimum)``, >= 0 when the nominal optimum is exact); None when the
        nominal optimum is unknown.
    """

    worst_scenario: int | None = None
    scenario_values: list[float] = field(default_factory=list)
    nominal_optimum: float | None = None
    price_of_robustness: float | None = None

    ARRAY_FIELDS: ClassVar[tuple[str, ...]] = ("solution",)  # a permutation; an allocation stays a dict


@dataclass(frozen=True, kw_only=True, repr=False)  # Result's compact repr
class GameResult(Result):
    """Outcome of :func:`solve_matrix_game`: the common fields of :class:`mezan.results.Result` and the strategies.

    All fields are keyword-only.

    Parameters
    ----------
    solution : numpy.ndarray or None, optional
        The row player's optimal mixed strategy, a probability per row (also read as :attr:`row_strategy`); None
        when the LPs were not solved.
    objective : float or None, optional
        The value of the game to the row player (also read as :attr:`value`; both LPs agree on it).
    status : Status or str, default "feasible"
        "optimal" when both LPs were solved, else "timeout" or "cancelled" (no strategies).
    lower_bound : float or None, optional
        The value of the game (equal to the objective).
    upper_bound : float or None, optional
        The value of the game (equal to the objective).
    gap : float or None, optional
        Not set (None).
    solver : str or None, default "dualflow.matrix_game"
        The solver that ran.
    seed : int or None, optional
        Always None: the LPs are deterministic.
    wall_time : float, default 0.0
        Seconds spent.
    iterations : int, default 0
        Not counted (0).
    trace : list of (float, float), optional
        Not recorded (empty).
    explanation : str, optional
        The values of the two LPs, or why they were not solved.
    reason : str, optional
        Not set (empty).
    column_strategy : numpy.ndarray or None, optional
        The column player's optimal mixed strategy, a probability per column.

    Attributes
    ----------
    row_strategy : numpy.ndarray or None
        The solution under its game name.
    value : float or None
        The objective under its game name: the value of the game to the row player.
    """

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
    """Solve a min–max assignment: the permutation with the smallest worst-case cost over the scenarios.

    A MILP on HiGHS (binary x_ij and a worst-case level t; minimise t subject to every scenario's cost <= t); the
    nominal optimum is the LAP of the nominal scenario (see :mod:`mezan.flows.robust`).

    Parameters
    ----------
    problem : RobustAssignmentProblem
        The cost scenarios and the nominal one.
    time_limit : float or None, default 10.0
        Seconds for the whole solve (None or ``inf``: no limit).
    seed : int or None, optional
        Accepted for the Solver protocol and ignored: HiGHS is deterministic.
    stop : threading.Event, optional
        Anything with ``is_set()``: once set, HiGHS is stopped (status "cancelled", no solution).
    progress : callable, optional
        ``progress(value, elapsed_seconds)``, called once with the value found (HiGHS works in one call).

    Returns
    -------
    RobustResult
        The permutation, its worst-case cost, the worst scenario, its cost in every scenario, the nominal optimum
        and the price of robustness; or no solution with status "timeout" or "cancelled".

    Raises
    ------
    InvalidParameterError
        When ``problem`` is not a :class:`RobustAssignmentProblem` or ``time_limit`` is not a positive number of
        seconds.
    """
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
                        status=highs.solved_status(res.status),
                        worst_scenario=worst_scenario, scenario_values=values, nominal_optimum=nominal_optimum,
                        price_of_robustness=values[problem.nominal] - nominal_optimum, wall_time=wall,
                        lower_bound=max(values) if res.status == highs.OPTIMAL else None,
                        solver="dualflow.robust_assignment",
                        explanation=f"min-max assignment over {scenarios} scenarios (HiGHS MILP); nominal "
                                    f"optimum by LAP on scenario {problem.nominal}")


@reports_final_objective
def solve_robust_allocation(problem: RobustAllocationProblem, *, time_limit: float = 10.0, seed: int | None = None,
                            stop: Any = None, progress: Any = None) -> RobustResult:
    """Solve a max–min allocation: the allocation with the largest worst-case value over the scenarios.

    AllocFlow's model with one more variable t, maximised subject to t <= every scenario's value (an LP, or a
    MILP with integer items), on HiGHS; the nominal optimum is AllocFlow's solve of the nominal scenario, within
    what is left of the budget (see :mod:`mezan.flows.robust`).

    Parameters
    ----------
    problem : RobustAllocationProblem
        The allocation and its value scenarios.
    time_limit : float or None, default 10.0
        Seconds for the whole solve (None or ``inf``: no limit).
    seed : int or None, optional
        Accepted for the Solver protocol and ignored: HiGHS is deterministic.
    stop : threading.Event, optional
        Anything with ``is_set()``: once set, HiGHS is stopped (status "cancelled", no solution).
    progress : callable, optional
        ``progress(value, elapsed_seconds)``, called once with the value found (HiGHS works in one call).

    Returns
    -------
    RobustResult
        The quantities, their worst-case value, the worst scenario, the value in every scenario, the nominal
        optimum and the price of robustness (None when no time was left for the nominal optimum); or no
        solution with status "infeasible", "unbounded", "timeout" or "cancelled" and a ``reason``.

    Raises
    ------
    InvalidParameterError
        When ``problem`` is not a :class:`RobustAllocationProblem` or ``time_limit`` is not a positive number of
        seconds.
    """
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
    if res.status == highs.INFEASIBLE:
        return RobustResult(status="infeasible", reason="the budgets, group limits and item bounds admit no "
                            "allocation (HiGHS)", wall_time=wall, solver="dualflow.robust_allocation")
    if res.status == highs.UNBOUNDED:
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
                        status=highs.solved_status(res.status),
                        worst_scenario=worst_scenario, scenario_values=values, nominal_optimum=nominal.objective,
                        price_of_robustness=(None if nominal.objective is None
                                             else nominal.objective - values[problem.nominal]),
                        wall_time=time.perf_counter() - start, solver="dualflow.robust_allocation",
                        explanation=f"max-min allocation over {len(values)} scenarios (HiGHS)")


@reports_final_objective
def solve_matrix_game(problem: MatrixGameProblem, *, time_limit: float = 10.0, seed: int | None = None,
                      stop: Any = None, progress: Any = None) -> GameResult:
    """Solve a zero-sum matrix game: both players' optimal mixed strategies and the value of the game.

    Two LPs on HiGHS: the row player's maximin strategy (maximise v subject to ``p^T A >= v``, p a probability
    vector) and the column player's minimax strategy from the dual LP; by the minimax theorem both give the
    value of the game (see :mod:`mezan.flows.robust`).

    Parameters
    ----------
    problem : MatrixGameProblem
        The payoff matrix (to the row player).
    time_limit : float or None, default 10.0
        Seconds for the whole solve (None or ``inf``: no limit).
    seed : int or None, optional
        Accepted for the Solver protocol and ignored: HiGHS is deterministic.
    stop : threading.Event, optional
        Anything with ``is_set()``: once set, HiGHS is stopped (status "cancelled", no solution).
    progress : callable, optional
        ``progress(value, elapsed_seconds)``, called once with the value found (HiGHS works in one call).

    Returns
    -------
    GameResult
        Both strategies and the value, status "optimal"; or no strategies with status "timeout" or "cancelled".

    Raises
    ------
    InvalidParameterError
        When ``problem`` is not a :class:`MatrixGameProblem` or ``time_limit`` is not a positive number of
        seconds.
    """
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
    """Solve a min–max QAP: the permutation with the smallest worst-case objective over the scenarios.

    A heuristic: EvoFlow's genetic algorithm on the worst-case objective for 80 % of the budget, then QAPFlow on
    the nominal scenario alone for the nominal optimum (at least 0.05 s); the lower bound is the largest
    scenario Gilmore–Lawler bound (see :mod:`mezan.flows.robust`).

    Parameters
    ----------
    problem : RobustQAPProblem
        The flow and distance scenarios and the nominal one.
    time_limit : float, default 10.0
        Seconds for the solve; must be finite (the search runs for its whole budget).
    seed : int or None, optional
        The seed of the genetic algorithm and of the nominal solve (None: fresh entropy; the genetic algorithm's
        seed is in the result).
    stop : threading.Event, optional
        Anything with ``is_set()``: once set, the search ends with its best permutation (status "cancelled").
    progress : callable, optional
        The genetic algorithm's callback, ``progress(worst_case_objective, elapsed_seconds)`` on every
        improvement (returning True stops the search), and once more with the final objective.

    Returns
    -------
    RobustResult
        The permutation, its worst-case objective, the worst scenario, the objective in every scenario, the
        nominal best and the price of robustness; status "timeout" (the budget ended the search) or "cancelled".

    Raises
    ------
    InvalidParameterError
        When ``problem`` is not a :class:`RobustQAPProblem` or ``time_limit`` is not a positive, finite number of
        seconds.
    """
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
                 stop=stop, progress=progress)
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
