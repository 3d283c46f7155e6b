"""The problem records as a package: wire forms, the one fingerprint, the one table of problem types, and TSP /
linear ordering as records that every entry point (mezan.solve, C2SC, the service) reaches."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import mezan
from mezan import c2sc, registry
from mezan.c2sc import OUTPUTS
from mezan.c2sc.plan import TYPES as C2SC_TYPES
from mezan.errors import InvalidProblemError
from mezan.evo import TSP, LinearOrdering, evolve
from mezan.problems import (
    COMMON_OUTPUTS,
    LIBRARY_ONLY_TYPES,
    ROUTES,
    TYPES,
    AllocationItem,
    AllocationProblem,
    LinearOrderingProblem,
    QAPProblem,
    TSPProblem,
    from_wire,
    problem_size,
    to_wire,
    types_on_route,
)
from mezan.qap.instances import load
from mezan.results import Result
from mezan.service.routes import EVO_MATRICES, ROUTE_TYPES, parse

SMALL_A = [[0, 1, 2], [1, 0, 3], [2, 3, 0]]
SMALL_B = [[0, 5, 1], [5, 0, 2], [1, 2, 0]]
DISTANCES = [[0, 2, 9, 10], [2, 0, 6, 4], [9, 6, 0, 3], [10, 4, 3, 0]]
WEIGHTS = [[0, 3, 1.5], [1, 0, 4], [2, 0.5, 0]]

WIRE_FORMS = {
    "qap": {"type": "qap", "A": SMALL_A, "B": SMALL_B, "name": "tiny", "best_known": 10},
    "workflow": {"type": "workflow", "tasks": [{"id": "a", "duration": 2, "resources": {"lab": 1}, "agent": "x"},
                                               {"id": "b", "duration": 3}],
                 "precedences": [["a", "b"]], "resources": {"lab": 2}},
    "allocation": {"type": "allocation", "budgets": {"cash": 10, "staff": 4},
                   "groups": {"g": {"min": 1, "max": 5}},
                   "items": [{"id": "x", "cost": {"cash": 2, "staff": 1}, "value": 3, "max": 4, "integer": True,
                              "group": "g"},
                             {"id": "y", "cost": {"cash": 1}, "utility": [[0, 0], [2, 3], [4, 4]]}]},
    "network_design": {"type": "network_design", "task": "fixed_charge",
                       "nodes": [{"id": "a", "supply": 2}, {"id": "b"}, {"id": "c", "supply": -2}],
                       "edges": [{"from": "a", "to": "b", "cost": 1, "capacity": 3, "fixed_cost": 5},
                                 {"from": "b", "to": "c", "cost": 2, "capacity": 3, "fixed_cost": 1}]},
    "robust_assignment": {"type": "robust_assignment", "costs": [[[1, 2], [3, 4]], [[2, 1], [0, 5]]], "nominal": 1},
    "robust_qap": {"type": "robust_qap", "flows": [[[0, 1], [1, 0]]],
                   "distances": [[[0, 2], [2, 0]], [[0, 3], [3, 0]]], "nominal": 1},
    "robust_allocation": {"type": "robust_allocation", "budget": 10,
                          "items": [{"id": "x", "cost": 2, "value": 3, "max": 4},
                                    {"id": "y", "cost": 1, "value": 1, "max": 3}],
                          "scenarios": [{"x": 1}, {"x": 2, "y": 2}]},
    "matrix_game": {"type": "matrix_game", "payoff": [[1, -1, 0], [-1, 1, 2]]},
    "tsp": {"type": "tsp", "D": DISTANCES},
    "linear_ordering": {"type": "linear_ordering", "W": WEIGHTS},
}


def test_every_type_of_the_table_has_a_sample_here():
    assert set(WIRE_FORMS) == set(TYPES)


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_every_field_a_reference_may_name_is_a_field_of_the_default_solvers_result(kind):
    result = registry.get(TYPES[kind].solver).solve(from_wire(copy.deepcopy(WIRE_FORMS[kind])), time_limit=2.0, seed=0)
    assert isinstance(result, Result) and result.has_solution, result
    for name in COMMON_OUTPUTS + TYPES[kind].outputs:
        assert hasattr(result, name), (kind, name)
    shape = {"list": (list, np.ndarray), "dict": dict}[TYPES[kind].solution_shape]
    assert isinstance(result.solution, shape)


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_wire_form_round_trip_keeps_the_fingerprint(kind):
    problem = from_wire(copy.deepcopy(WIRE_FORMS[kind]))
    assert isinstance(problem, TYPES[kind].record) and problem.problem_type == kind
    wire = to_wire(problem)
    assert wire["type"] == kind
    again = TYPES[kind].record.from_dict(wire)
    assert again.fingerprint() == problem.fingerprint()
    assert from_wire(again.to_dict()).to_dict() == wire
    assert len(problem.fingerprint()) == 64 and int(problem.fingerprint(), 16) >= 0


def _numeric_leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in ("type", "name", "best_known"):
                yield from _numeric_leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _numeric_leaves(v, (*path, i))
    elif isinstance(value, (int, float)):
        yield path


def _changed(wire, path, value):
    out = copy.deepcopy(wire)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return out


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_the_fingerprint_changes_with_any_value_and_not_with_the_name(kind):
    wire = WIRE_FORMS[kind]
    reference = from_wire(copy.deepcopy(wire)).fingerprint()
    assert from_wire({**copy.deepcopy(wire), "name": "another name"}).fingerprint() == reference
    tried = 0
    for path in _numeric_leaves(wire):
        leaf = wire
        for key in path:
            leaf = leaf[key]
        new = not leaf if isinstance(leaf, bool) else leaf + 1
        try:
            changed = from_wire(_changed(wire, path, new))
        except InvalidProblemError:
            continue  # the change made the problem invalid (e.g. a scenario index out of range)
        assert changed.fingerprint() != reference, (kind, path)
        tried += 1
    assert tried >= 3


def test_the_qap_fingerprint_is_the_one_stored_in_metaflow_databases():
    # Pinned from the single-module problems.py (before the package): MetaFlow stores key solves by these.
    assert QAPProblem(SMALL_A, SMALL_B).fingerprint() == (
        "11cb3ecc5dd1639ad1bd05378c2e7035ba3d2f0cf7273e96479671e281c4eaf0")
    labelled = QAPProblem(np.array(SMALL_A, float) / 4, SMALL_B, name="x", best_known=3)
    assert labelled.fingerprint() == "27bee1f1fe5f5f8fae62261f68f124e1b146eee1b33527de0fc410ebee5f6247"
    assert load("nug12").fingerprint() == "906d3c07648ad4372d6fb9868cc77eace34d57b5ec4b5929f481d49e421cbccb"


def test_equal_problems_written_differently_share_a_fingerprint():
    as_ints = AllocationProblem((AllocationItem("x", {"budget": 2}, value=3, max=4),), {"budget": 10})
    as_floats = AllocationProblem.from_dict({"type": "allocation", "budget": 10.0,
                                             "items": [{"id": "x", "cost": 2.0, "value": 3.0, "max": 4.0}]})
    assert as_ints.fingerprint() == as_floats.fingerprint()
    assert QAPProblem(SMALL_A, SMALL_B).fingerprint() == QAPProblem(np.array(SMALL_A, float),
                                                                    np.array(SMALL_B, np.int32)).fingerprint()
    assert TSP(DISTANCES).fingerprint() == TSPProblem(DISTANCES).fingerprint()
    assert TSPProblem(DISTANCES).fingerprint() != LinearOrderingProblem(DISTANCES).fingerprint()  # the type counts


def test_the_table_covers_every_registered_problem_type():
    registered = {s.problem_type for s in registry.solvers()}
    # "permutation" (EvoFlow's callable objective) has no wire form: a Python function cannot be sent as JSON
    assert registered - set(TYPES) == set(LIBRARY_ONLY_TYPES) == {"permutation"}
    for kind, spec in TYPES.items():
        assert spec.name == kind and spec.record.problem_type == kind
        solver = registry.get(spec.solver)
        assert solver.problem_type == kind
        assert set(spec.routes) <= set(ROUTES) and "mezan" in spec.routes
        assert set(spec.required) <= set(WIRE_FORMS[kind]) and spec.solution_shape in ("list", "dict")
        assert problem_size(from_wire(copy.deepcopy(WIRE_FORMS[kind])))[0] == spec.size


def test_c2sc_and_the_service_read_the_table():
    assert C2SC_TYPES is TYPES
    assert OUTPUTS == {kind: COMMON_OUTPUTS + spec.outputs for kind, spec in TYPES.items()}
    assert tuple(ROUTE_TYPES) == ROUTES
    for route in ROUTES:
        assert ROUTE_TYPES[route] == types_on_route(route) + (("composite",) if route == "mezan" else ())
    assert set(ROUTE_TYPES["mezan"]) == set(TYPES) | {"composite"}
    assert ROUTE_TYPES["evoflow"] == ("qap", "tsp", "linear_ordering")
    assert EVO_MATRICES == {"qap": ("A", "B"), "tsp": ("D",), "linear_ordering": ("W",)}
    assert problem_size(from_wire(copy.deepcopy(WIRE_FORMS["matrix_game"]))) == ("strategies", 3)
    assert problem_size(from_wire(copy.deepcopy(WIRE_FORMS["workflow"]))) == ("tasks", 2)


def test_unknown_types_and_records_without_a_wire_form_are_refused():
    with pytest.raises(InvalidProblemError, match="unknown problem type 'knapsack'"):
        from_wire({"type": "knapsack"})
    with pytest.raises(InvalidProblemError, match="unknown problem type"):
        from_wire([1, 2])
    with pytest.raises(InvalidProblemError, match="not a problem record with a wire form"):
        to_wire(object())


@pytest.mark.parametrize(("make", "message"), [
    (lambda: TSPProblem(np.ones((2, 2))), r"D must be at least 3x3 \(a tour needs 3 cities\)"),
    (lambda: TSPProblem([[0, 1, 2], [1, 0, 1]]), "D must be a square 2-D matrix"),
    (lambda: TSPProblem(np.full((3, 3), np.inf)), "D has a non-finite value"),
    (lambda: TSPProblem(np.full((3, 3), 1e300)), r"^D: n max\|D\|"),
    (lambda: TSPProblem([["a"] * 3] * 3), "D must hold real numbers"),
    (lambda: LinearOrderingProblem(np.ones((1, 1))), "W must be at least 2x2"),
    (lambda: LinearOrderingProblem(np.array([[0, np.nan], [1, 0]])), "W has a non-finite value"),
    (lambda: LinearOrderingProblem(np.full((3, 3), 2e299)), r"^W: n\^2 max\|W\|"),
    (lambda: TSPProblem.from_dict({"type": "tsp"}), "missing field 'D'"),
    (lambda: TSPProblem.from_dict({"type": "qap", "D": DISTANCES}), "type must be 'tsp'"),
    (lambda: LinearOrderingProblem.from_dict([WEIGHTS]), "must be a JSON object"),
    (lambda: from_wire({"type": "tsp", "D": [[0, 1, 2], [1, 0]]}), "D cannot be read as a matrix"),
])
def test_tsp_and_linear_ordering_records_validate_like_evoflow(make, message):
    with pytest.raises(InvalidProblemError, match=message):
        make()


def test_evoflow_classes_are_the_records():
    tour = TSP(DISTANCES)
    assert isinstance(tour, TSPProblem) and tour.n == 4 and tour.D.dtype == np.float64
    assert isinstance(LinearOrdering(WEIGHTS), LinearOrderingProblem)
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        tour.D[0, 1] = 7  # the record owns read-only data
    record_run = evolve(TSPProblem(DISTANCES), generations=20, time_limit=None, seed=3)
    class_run = evolve(TSP(DISTANCES), generations=20, time_limit=None, seed=3)
    assert record_run.fitness == class_run.fitness and list(record_run.best) == list(class_run.best)


def tour_length(D, p):
    return math.fsum(D[p[k]][p[(k + 1) % len(p)]] for k in range(len(p)))


def backward_weight(W, p):
    return math.fsum(W[p[j]][p[i]] for i in range(len(p)) for j in range(i + 1, len(p)))


def test_mezan_solve_reaches_tsp_and_linear_ordering_solvers():
    tour = mezan.solve({"type": "tsp", "D": DISTANCES}, time_limit=0.3, seed=0)
    assert sorted(int(v) for v in tour.best) == [0, 1, 2, 3]
    assert tour.fitness == pytest.approx(tour_length(DISTANCES, [int(v) for v in tour.best]))
    assert tour.fitness == pytest.approx(18.0)  # 0-1-3-2-0: 2 + 4 + 3 + 9
    order = mezan.solve({"type": "linear_ordering", "W": WEIGHTS}, time_limit=0.3, seed=0)
    assert sorted(int(v) for v in order.best) == [0, 1, 2]
    assert order.fitness == pytest.approx(backward_weight(WEIGHTS, [int(v) for v in order.best]))
    for solver in ("evo.ga@tsp", "evo.memetic@tsp"):
        result = mezan.solve(TSPProblem(DISTANCES), time_limit=0.2, seed=1, solver=solver)
        assert sorted(int(v) for v in result.best) == [0, 1, 2, 3]
    asymmetric = np.array(DISTANCES, float) + np.triu(np.ones((4, 4)))  # no 2-opt: the memetic variant runs the GA
    result = mezan.solve(TSPProblem(asymmetric), time_limit=0.2, seed=1, solver="evo.memetic@tsp")
    assert result.fitness == pytest.approx(tour_length(asymmetric, [int(v) for v in result.best]))


def test_c2sc_and_the_mezan_route_accept_tsp_and_linear_ordering():
    request = {"type": "composite", "subproblems": [
        {"id": "tour", "type": "tsp", "D": DISTANCES},
        {"id": "order", "type": "linear_ordering", "W": WEIGHTS, "depends_on": "tour"},
        {"id": "game", "type": "matrix_game", "payoff": [["$tour.objective", 0], [0, "$order.solution[0]"]],
         "depends_on": ["tour", "order"]}]}
    plan = mezan.compile(request)
    assert plan.solver_of("tour") == "evo.memetic@tsp" and plan.solver_of("order") == "evo.memetic@linear_ordering"
    result = c2sc.run(plan, time_limit=0.2, seed=0)
    assert result.status == "ok", result.results
    assert result.results["tour"]["objective"] == pytest.approx(18.0)
    assert sorted(result.results["order"]["solution"]) == [0, 1, 2]
    work = parse("mezan", {"type": "tsp", "D": DISTANCES, "time_limit": 0.2, "seed": 0})
    assert work.kind == "tsp" and work.size == ("n", 4)
    out = work.respond(None, None)
    assert sorted(out["solution"]) == [0, 1, 2, 3] and out["objective"] == pytest.approx(18.0)
    evo_work = parse("evoflow", {"type": "linear_ordering", "W": WEIGHTS, "time_limit": 0.2, "seed": 0})
    assert evo_work.solver == "evo.memetic@linear_ordering" and evo_work.size == ("n", 3)


def test_every_problem_type_carries_its_objective_sense():
    from mezan.errors import InvalidParameterError
    from mezan.meta.features import register_features, sense_of
    from mezan.problems import TYPES, ProblemType
    from mezan.problems import sense_of as table_sense

    assert {name: spec.sense for name, spec in TYPES.items() if spec.sense == "max"} == {
        "allocation": "max", "robust_allocation": "max", "matrix_game": "max"}
    assert all(sense_of(name) == table_sense(name) == spec.sense for name, spec in TYPES.items())
    with pytest.raises(InvalidParameterError, match="sense must be 'min' or 'max'"):
        ProblemType("odd", object, "x.y", (), (), (), "n", "best")
    with pytest.raises(InvalidParameterError, match="give sense='min' or 'max'"):
        register_features("my_new_type", lambda problem: {}, ())
    with pytest.raises(InvalidParameterError, match=r"contradicts mezan\.problems\.TYPES"):
        register_features("allocation", lambda problem: {}, (), sense="min")


def test_a_record_does_not_make_the_callers_arrays_read_only():
    from mezan.problems import QAPProblem, RobustAssignmentProblem

    A, B, costs = np.random.default_rng(0).random((3, 4, 4))
    problem = QAPProblem(A, B)
    assert A.flags.writeable and B.flags.writeable and not problem.A.flags.writeable
    stack = np.stack([costs, costs])
    record = RobustAssignmentProblem(stack)
    assert stack.flags.writeable and not record.costs.flags.writeable
    fingerprint = problem.fingerprint()
    A[0, 1] += 1.0  # the caller's later change does not reach the record
    assert problem.fingerprint() == fingerprint and problem.A[0, 1] != A[0, 1]
