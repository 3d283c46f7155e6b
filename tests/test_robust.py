"""DualFlow: robust assignment and allocation against enumeration, matrix games against known values
and the dual LP."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezan import registry
from mezan.errors import InvalidProblemError
from mezan.flows import solve_allocation, solve_matrix_game, solve_robust_allocation, solve_robust_assignment
from mezan.problems import MatrixGameProblem, RobustAllocationProblem, RobustAssignmentProblem


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_robust_assignment_matches_enumeration(n, scenarios, seed):
    costs = np.random.default_rng(seed).integers(0, 20, (scenarios, n, n)).astype(float)
    problem = RobustAssignmentProblem(costs, nominal=scenarios - 1)
    result = solve_robust_assignment(problem)
    perms = [np.array(p) for p in itertools.permutations(range(n))]
    worst = [max(costs[s][np.arange(n), p].sum() for s in range(scenarios)) for p in perms]
    assert result.status == "optimal" and result.objective == pytest.approx(min(worst))
    assert sorted(result.solution.tolist()) == list(range(n))
    assert result.scenario_values[result.worst_scenario] == result.objective
    nominal = min(costs[scenarios - 1][np.arange(n), p].sum() for p in perms)
    assert result.nominal_optimum == pytest.approx(nominal) and result.price_of_robustness >= -1e-9


def test_one_scenario_costs_nothing_to_be_robust():
    costs = np.array([[[4.0, 1, 3], [2, 0, 5], [3, 2, 2]]])
    result = solve_robust_assignment(RobustAssignmentProblem(costs))
    assert result.objective == result.nominal_optimum == 5.0 and result.price_of_robustness == 0.0


@pytest.mark.parametrize(("payoff", "value", "row", "column"), [
    ([[1, -1], [-1, 1]], 0.0, [0.5, 0.5], [0.5, 0.5]),                              # matching pennies
    ([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], 0.0, [1 / 3] * 3, [1 / 3] * 3),         # rock-paper-scissors
    ([[3, 1], [4, 2]], 2.0, [0, 1], [0, 1]),                                        # saddle point
])
def test_matrix_games_with_known_solutions(payoff, value, row, column):
    result = solve_matrix_game(MatrixGameProblem(payoff))
    assert result.objective == pytest.approx(value, abs=1e-9)
    assert np.allclose(result.row_strategy, row, atol=1e-9) and np.allclose(result.column_strategy, column, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_matrix_game_strategies_certify_the_value(rows, cols, seed):
    A = np.random.default_rng(seed).normal(size=(rows, cols))
    result = solve_matrix_game(MatrixGameProblem(A))
    p, q, v = result.row_strategy, result.column_strategy, result.objective
    assert p.sum() == pytest.approx(1) and q.sum() == pytest.approx(1)
    assert np.all(p @ A >= v - 1e-8)   # the row player secures at least v against every column
    assert np.all(A @ q <= v + 1e-8)   # the column player concedes at most v against every row


def robust_allocation_problem(data):
    return RobustAllocationProblem.from_dict(data)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_robust_allocation_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    items = [{"id": f"i{k}", "cost": int(rng.integers(1, 6)), "value": int(rng.integers(0, 9)),
              "max": int(rng.integers(1, 4)), "integer": True} for k in range(3)]
    scenarios = [{f"i{k}": int(rng.integers(0, 9)) for k in range(3)} for _ in range(int(rng.integers(1, 4)))]
    problem = robust_allocation_problem({"budget": int(rng.integers(3, 15)), "items": items, "scenarios": scenarios})
    result = solve_robust_allocation(problem)
    best = None
    for q in itertools.product(*(range(0, it["max"] + 1) for it in items)):
        if sum(it["cost"] * x for it, x in zip(items, q, strict=True)) <= problem.base.budgets["budget"]:
            worst = min(sum(problem.values(s)[it["id"]] * x for it, x in zip(items, q, strict=True))
                        for s in range(len(scenarios)))
            best = worst if best is None else max(best, worst)
    assert result.status == "optimal" and result.objective == pytest.approx(best)
    assert result.scenario_values[result.worst_scenario] == pytest.approx(result.objective)
    assert result.price_of_robustness >= -1e-9


def test_robust_allocation_hedges_and_reports_its_price():
    data = {"budget": 10, "items": [{"id": "stocks", "cost": 1, "value": 3, "max": 10},
                                    {"id": "bonds", "cost": 1, "value": 1, "max": 10}],
            "scenarios": [{}, {"stocks": -1}]}  # nominal: stocks pay 3; the crash scenario: -1
    result = solve_robust_allocation(robust_allocation_problem(data))
    # Best worst case: 10 in bonds (1, 1) beats any stock share (worst -1 per unit).
    assert result.solution == {"stocks": pytest.approx(0.0), "bonds": pytest.approx(10.0)}
    assert result.objective == pytest.approx(10.0) and result.nominal_optimum == pytest.approx(30.0)
    assert result.price_of_robustness == pytest.approx(20.0)
    one = robust_allocation_problem({**data, "scenarios": [{}]})
    assert solve_robust_allocation(one).objective == pytest.approx(solve_allocation(one.base).objective)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: RobustAssignmentProblem(np.ones((2, 3, 4))), "square"),
    (lambda: RobustAssignmentProblem(np.ones((2, 3, 3)), nominal=2), r"nominal must be a scenario index in \[0, 1\]"),
    (lambda: RobustAssignmentProblem([[[1, np.nan], [0, 1]]]), r"costs\[0\] has a non-finite value"),
    (lambda: MatrixGameProblem([[1, 2], [3]]), "payoff"),
    (lambda: robust_allocation_problem({"budget": 1, "items": [{"id": "a", "cost": 1}], "scenarios": [{"b": 1}]}),
     r"scenarios\[0\] names unknown item"),
    (lambda: robust_allocation_problem({"budget": 1, "items": [{"id": "a", "cost": 1, "utility": [[0, 0], [1, 1]]}],
                                        "scenarios": [{}]}), "needs linear values"),
    (lambda: robust_allocation_problem({"budget": 1, "items": [{"id": "a", "cost": 1}], "scenarios": []}),
     "at least one scenario"),
])
def test_bad_robust_input_names_the_field(build, message):
    with pytest.raises(InvalidProblemError, match=message):
        build()


def test_dualflow_solvers_are_registered():
    names = {s.name for s in registry.solvers()}
    assert {"dualflow.robust_assignment", "dualflow.robust_allocation", "dualflow.matrix_game"} <= names
    game = registry.get("dualflow.matrix_game").solve(MatrixGameProblem([[1, -1], [-1, 1]]), time_limit=1.0)
    assert game.to_dict()["objective"] == pytest.approx(0.0) == game.value


def test_robust_qap_finds_the_enumerated_min_max_on_small_instances():
    from mezan.flows import solve_robust_qap
    from mezan.problems import RobustQAPProblem

    rng = np.random.default_rng(7)
    n = 6
    A = rng.integers(0, 9, (n, n))
    Bs = [rng.integers(0, 9, (n, n)) for _ in range(3)]
    problem = RobustQAPProblem([A], Bs, nominal=1)
    result = solve_robust_qap(problem, time_limit=2.0, seed=0)
    perms = [np.array(p) for p in itertools.permutations(range(n))]
    values = [[(A * B[np.ix_(p, p)]).sum() for B in Bs] for p in perms]
    assert result.objective == min(max(v) for v in values)
    assert result.lower_bound <= result.objective
    assert result.nominal_optimum == min(v[1] for v in values) and result.price_of_robustness >= 0
    assert result.scenario_values[result.worst_scenario] == result.objective
    with pytest.raises(InvalidProblemError, match="flows has 2 scenarios and distances 3"):
        RobustQAPProblem([A, A], Bs)
