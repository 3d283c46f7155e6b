"""AllocFlow: LP/MILP allocation against independent oracles (enumeration, greedy fractional knapsack)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mezan
from mezan import registry
from mezan.errors import InvalidProblemError
from mezan.flows import knapsack, solve_allocation
from mezan.meta import MetaFlow
from mezan.problems import AllocationItem, AllocationProblem


def problem_from(data):
    return AllocationProblem.from_dict(data)


def test_the_wire_form_of_the_issue():
    data = {"type": "allocation", "budget": 100, "items": [
        {"id": "x", "cost": 10, "value": 3, "min": 0, "max": 5, "integer": True},
        {"id": "y", "cost": 7, "value": 2, "min": 1, "max": 10, "integer": True}]}
    problem = problem_from(data)
    result = solve_allocation(problem)
    # x: 3/10 per unit of budget, y: 2/7 — best is x = 5 (50), then y = 7 (49): value 29
    assert result.status == "optimal" and result.allocation == {"x": 5, "y": 7} and result.objective == 29
    assert result.to_dict()["solution"] == {"x": 5, "y": 7} and result.upper_bound == pytest.approx(29)
    again = AllocationProblem.from_dict(problem.to_dict())
    assert again.fingerprint() == problem.fingerprint()


@st.composite
def integer_problems(draw):
    n = draw(st.integers(1, 4))
    budgets = {f"b{k}": float(draw(st.integers(0, 30))) for k in range(draw(st.integers(1, 2)))}
    group = draw(st.booleans())
    items = []
    for i in range(n):
        low = draw(st.integers(0, 1))
        items.append(AllocationItem(id=f"i{i}", cost={b: float(draw(st.integers(0, 9))) for b in budgets},
                                    value=float(draw(st.integers(-3, 9))), min=float(low),
                                    max=float(low + draw(st.integers(0, 3))), integer=True,
                                    group="g" if group and i % 2 == 0 else None))
    groups = {"g": (None, float(draw(st.integers(0, 4))))} if group else {}
    return AllocationProblem(tuple(items), budgets, groups)


def enumerate_best(problem):
    best = None
    ranges = [range(int(i.min), int(i.max) + 1) for i in problem.items]
    for q in itertools.product(*ranges):
        ok = all(sum(i.cost.get(b, 0) * x for i, x in zip(problem.items, q, strict=True)) <= lim + 1e-9
                 for b, lim in problem.budgets.items())
        for g, (low, high) in problem.groups.items():
            total = sum(x for i, x in zip(problem.items, q, strict=True) if i.group == g)
            ok = ok and (low is None or total >= low) and (high is None or total <= high)
        if ok:
            value = sum(i.value_of(x) for i, x in zip(problem.items, q, strict=True))
            best = value if best is None else max(best, value)
    return best


@settings(max_examples=80, deadline=None)
@given(integer_problems())
def test_milp_matches_enumeration(problem):
    expected = enumerate_best(problem)
    result = solve_allocation(problem, time_limit=5.0)
    if expected is None:
        assert result.status == "infeasible" and result.reason
        return
    assert result.status == "optimal" and result.objective == pytest.approx(expected, abs=1e-6)
    assert result.upper_bound >= result.objective - 1e-6
    used = {b: sum(i.cost.get(b, 0) * result.allocation[i.id] for i in problem.items) for b in problem.budgets}
    assert all(used[b] <= lim + 1e-6 for b, lim in problem.budgets.items())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5)), min_size=1, max_size=6),
       st.integers(1, 60))
def test_lp_matches_the_greedy_fractional_knapsack_and_its_shadow_price(rows, budget):
    items = tuple(AllocationItem(id=f"i{k}", cost={"b": float(c)}, value=float(v), max=float(m))
                  for k, (c, v, m) in enumerate(rows))
    result = solve_allocation(AllocationProblem(items, {"b": float(budget)}))

    def greedy(limit):  # by value per unit of budget: optimal for one budget and continuous quantities
        left, value = limit, 0.0
        for item in sorted(items, key=lambda i: -i.value / i.cost["b"]):
            take = max(0.0, min(item.max, left / item.cost["b"]))
            value += take * item.value
            left -= take * item.cost["b"]
        return value

    assert result.status == "optimal" and result.objective == pytest.approx(greedy(budget), rel=1e-9, abs=1e-9)
    # The shadow price lies between the value function's right and left derivatives (equal unless the
    # optimum is degenerate).
    right, left = greedy(budget + 1e-6) - greedy(budget), greedy(budget) - greedy(budget - 1e-6)
    assert right / 1e-6 - 1e-6 <= result.duals["budget:b"] <= left / 1e-6 + 1e-6


def test_concave_utilities_are_diminishing_returns():
    data = {"type": "allocation", "budget": 10, "items": [
        {"id": "ads", "cost": 1, "utility": [[0, 0], [4, 20], [10, 26]]},          # 5/unit, then 1/unit
        {"id": "staff", "cost": 2, "utility": [[0, 0], [2, 12], [5, 15]], "integer": True}]}  # 3/budget, then 0.5
    result = solve_allocation(problem_from(data))
    # Budget 10: ads 4 (20, ratio 5), staff 2 (12, ratio 3) = 8 spent; the rest (2) to ads at 1/unit -> 2.
    assert result.status == "optimal" and result.allocation == {"ads": pytest.approx(6.0), "staff": 2}
    assert result.objective == pytest.approx(34.0)
    problem = problem_from(data)
    assert result.objective == pytest.approx(sum(i.value_of(result.allocation[i.id]) for i in problem.items))


def test_infeasible_and_unbounded_say_why():
    tight = solve_allocation(problem_from({"budget": 5, "items": [{"id": "a", "cost": 2, "value": 1, "min": 3}]}))
    assert tight.status == "infeasible" and "budget 'budget' cannot pay" in tight.reason and "6 > 5" in tight.reason
    group = problem_from({"budget": 50, "groups": {"lab": {"min": 4}},
                          "items": [{"id": "a", "cost": 1, "value": 1, "max": 1, "group": "lab"},
                                    {"id": "b", "cost": 1, "value": 1, "max": 2, "group": "lab"}]})
    assert "group 'lab' needs at least 4 but its items' maxima sum to 3" in solve_allocation(group).reason
    joint = problem_from({"budget": 3, "groups": {"g": {"min": 4}},
                          "items": [{"id": "a", "cost": 1, "value": 1, "group": "g"}]})
    result = solve_allocation(joint)  # each check passes alone; together they cannot
    assert result.status == "infeasible" and "admit no allocation" in result.reason
    free = solve_allocation(problem_from({"budget": 1, "items": [{"id": "gift", "cost": 0, "value": 2}]}))
    assert free.status == "unbounded" and "'gift'" in free.reason


@pytest.mark.parametrize(("data", "message"), [
    ({"budget": 1, "items": []}, "at least one item"),
    ({"budget": 1, "items": [{"id": "a", "cost": 1, "value": 1, "colour": "red"}]}, r"items\[0\] has unknown"),
    ({"budget": 1, "items": [{"id": "a", "cost": 1, "min": 3, "max": 2}]}, r"items\[0\] \(a\): min 3 > max 2"),
    ({"budgets": {"x": 1}, "items": [{"id": "a", "cost": {"y": 1}}]}, r"items\[0\].cost names budget 'y'"),
    ({"budget": 1, "items": [{"id": "a", "cost": 1, "utility": [[0, 0], [1, 1], [2, 5]]}]}, "must be concave"),
    ({"budget": 1, "items": [{"id": "a", "cost": 1, "value": 1, "utility": [[0, 0], [1, 1]]}]}, "not both"),
    ({"budget": 1, "items": [{"cost": 1}]}, r"items\[0\] needs 'id' and 'cost'"),
    ({"budget": "lots", "items": [{"id": "a", "cost": 1}]}, "budget must be a number"),
    ({"budget": 1, "budgets": {"x": 1}, "items": [{"id": "a", "cost": 1}]}, "exactly one of 'budget'"),
    ({"budget": 1, "items": [{"id": "a", "cost": 1}, {"id": "a", "cost": 2}]}, "used twice"),
])
def test_bad_allocation_input_names_the_field(data, message):
    with pytest.raises(InvalidProblemError, match=message):
        problem_from(data)


def test_knapsack_matches_enumeration():
    rng = np.random.default_rng(3)
    for _ in range(10):
        values, weights = rng.integers(1, 20, 8), rng.integers(1, 10, 8)
        capacity = int(weights.sum() // 2)
        choices = itertools.product((0, 1), repeat=8)
        best = max(sum(v for v, t in zip(values, take, strict=True) if t) for take in choices
                   if sum(w for w, t in zip(weights, take, strict=True) if t) <= capacity)
        result = knapsack(values, weights, capacity)
        assert result.status == "optimal" and result.objective == best


def test_registered_and_learned_by_metaflow(tmp_path):
    problem = problem_from({"budget": 10, "items": [{"id": "a", "cost": 2, "value": 3, "max": 4, "integer": True}]})
    assert registry.get("allocflow.highs").solve(problem, time_limit=1.0).objective == 12  # max 4 of value 3
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    result = mezan.solve(problem, time_limit=1.0, metaflow=flow)
    assert result.solver == "allocflow.highs" and result.objective == 12 and "MetaFlow" in result.explanation
    (record,) = flow.store.solves()
    assert record.problem_type == "allocation" and record.features["n"] == 1.0
    infeasible = problem_from({"budget": 1, "items": [{"id": "a", "cost": 2, "value": 3, "min": 1}]})
    assert mezan.solve(infeasible, time_limit=1.0, metaflow=flow).status == "infeasible"
    assert flow.store.count_solves() == 2  # recorded too, with no objective (reward 0)
