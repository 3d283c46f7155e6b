"""Property-based fuzzing of every public library entry point with hostile input (issue 13).

The property, for every call: either a result comes back and it is valid (a permutation of 0..n-1 whose objective
is finite and equal to the objective recomputed independently; a schedule, allocation, flow or strategy that
satisfies its constraints), or the exception raised is a :class:`mezan.errors.MezanError` (InvalidProblemError,
InvalidParameterError, PlanError, ...). Any other exception type, an invalid result or a crash fails the test.

Every solve gets a short budget; examples are bounded so the whole file runs in well under a minute.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import mezan
import mezan.c2sc
import mezan.qap as qap
from mezan import registry
from mezan.c2sc import OUTPUTS, Plan
from mezan.c2sc.run import CompositeResult
from mezan.errors import MezanError
from mezan.evo import QAP, TSP, LinearOrdering, evolve
from mezan.problems import (
    AllocationProblem,
    MatrixGameProblem,
    NetworkDesignProblem,
    QAPProblem,
    RobustAllocationProblem,
    RobustAssignmentProblem,
    RobustQAPProblem,
    WorkflowProblem,
)

LIMIT = 0.05  # seconds per solve
FUZZ = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
STATUSES = {"optimal", "feasible", "timeout", "cancelled", "infeasible", "unbounded", "error"}

# ---------------------------------------------------------------------------------------------------------------
# Hostile values and matrices: the one place the strategies live.

HOSTILE_NUMBERS = (0, 1, -1, 0.5, -0.0, 1e308, -1e308, 1e300, -1e300, 1e-308, 5e-324, 1e150, 1e144, 1e12, -1e12,
                   1e13, 2**31, 2**53 + 1, 2**62, -(2**63), 2**63 - 1, 2**64, 10**30, math.nan, math.inf, -math.inf)
JUNK = (True, False, None, "7", "x", "", [], {}, [1, 2], {"a": 1}, [[1], [2, 3]])


def _copy(value):
    """A deep copy of a JSON-like value (drawn values are never shared, so mutating one cannot corrupt another)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


hostile_numbers = st.sampled_from(HOSTILE_NUMBERS)
junk = st.sampled_from(JUNK).map(_copy)
hostile_scalars = st.one_of(hostile_numbers, junk, st.integers(-3, 10),
                            st.floats(allow_nan=True, allow_infinity=True))
json_leaves = st.one_of(st.none(), st.booleans(), st.integers(-3, 10), hostile_numbers,
                        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4))
json_values = st.recursive(json_leaves, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                st.dictionaries(st.text(max_size=3), inner,
                                                                                max_size=3)),
                           max_leaves=6)
DTYPES = (None, np.float64, np.int64, np.float32, np.float16, np.uint8, np.uint64, np.bool_, np.complex128, object)
CLEAN_DTYPES = (None, None, np.float64, np.int64, np.float32)
SHAPES = ("square",) * 8 + ("nonsquare", "vector", "stack", "empty", "ragged", "strings", "scalar", "objects")


def _as_array(rows, dtype):
    """rows as an array of dtype when numpy can make one (quietly: overflow in a cast is the point), else the list."""
    if dtype is None:
        return rows
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return np.array(rows, dtype=dtype)
        except (ValueError, TypeError, OverflowError):
            return rows


@st.composite
def hostile_matrices(draw, n=None, min_n=0, max_n=6, clean=False):
    """A matrix argument as a hostile caller sends it: mostly n x n (small integers, scaled up to near the limits,
    with a few entries replaced by extreme, NaN, infinite or huge-integer values), sometimes a wrong shape (non-square,
    1-D, 3-D, empty, ragged) or wrong kind (strings, objects, a scalar); as nested lists or arrays of any dtype."""
    n = draw(st.integers(min_n, max_n)) if n is None else n
    shape = "square" if clean else draw(st.sampled_from(SHAPES))
    if shape == "square":
        rows = draw(st.lists(st.lists(st.integers(-9, 9), min_size=n, max_size=n), min_size=n, max_size=n))
        scale = draw(st.sampled_from((1, 1, 1, 1, 1e-300, 1e100, 1e144, 1e150, 2**40)))
        rows = [[v * scale for v in row] for row in rows]
        for _ in range(draw(st.integers(0, 2)) if n and not clean else 0):
            i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
            rows[i][j] = draw(hostile_numbers)
        return _as_array(rows, draw(st.sampled_from(CLEAN_DTYPES if clean else DTYPES)))
    if shape == "nonsquare":
        return np.ones((n, n + 1))
    if shape == "vector":
        return list(range(n))
    if shape == "stack":
        return np.ones((1, n, n))
    if shape == "empty":
        return draw(st.sampled_from(([], [[]], np.zeros((0, 0)), np.zeros((0, 3)))))
    if shape == "ragged":
        return [[0, 1], [1]]
    if shape == "strings":
        return [["a", "b"], ["c", "d"]]
    if shape == "scalar":
        return draw(hostile_scalars)
    return np.array([[{}, None], [None, {}]], dtype=object)


@st.composite
def qap_pairs(draw, max_n=6):
    """(A, B): half the time well-formed n x n matrices (any scale up to the limits, so that solvers run), else
    hostile ones of one size n, sometimes of different sizes."""
    if draw(st.booleans()):
        n = draw(st.integers(2, max_n))
        return draw(hostile_matrices(n, clean=True)), draw(hostile_matrices(n, clean=True))
    n = draw(st.integers(0, max_n))
    return draw(hostile_matrices(n)), draw(hostile_matrices(draw(st.sampled_from((n, n, n, n + 1)))))


@st.composite
def mutated(draw, template):
    """The wire-form ``template`` (a JSON object) with one to three fields replaced by hostile JSON values, deleted,
    or joined by an unknown field."""
    data = _copy(template)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(data))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(("replace",) * 6 + ("delete", "add")))
        if action == "replace":
            parent[path[-1]] = draw(st.one_of(junk, hostile_numbers, json_values))
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=4))] = draw(json_values)
    return data


def _paths(value, prefix=()):
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def mezan_or_value(call):
    """call(), or None when it raised a MezanError; any other exception propagates and fails the test."""
    try:
        value = call()
    except MezanError as exc:
        _note(f"refused: {type(exc).__name__}")
        return None
    _note("returned")
    return value


def _note(what):
    if currently_in_test_context():  # hypothesis statistics (--hypothesis-show-statistics)
        event(what)


# ---------------------------------------------------------------------------------------------------------------
# Independent checks of results.

def exact_objective(A, B, p):
    """sum_ij A[i, j] B[p_i, p_j] exactly for integer data (Python ints), else a correctly rounded float sum."""
    n = len(p)
    if np.issubdtype(A.dtype, np.integer) and np.issubdtype(B.dtype, np.integer):
        return sum(int(A[i, j]) * int(B[p[i], p[j]]) for i in range(n) for j in range(n))
    a, b = A.astype(np.float64), B.astype(np.float64)
    return math.fsum(float(a[i, j]) * float(b[p[i], p[j]]) for i in range(n) for j in range(n))


def assert_valid_qap(problem, permutation, value, lower_bound=None):
    """A permutation of 0..n-1 whose finite objective equals the core's and the exact recomputation."""
    p = [int(v) for v in np.asarray(permutation).ravel()]
    n = problem.n
    assert sorted(p) == list(range(n)), f"not a permutation of 0..{n - 1}: {p}"
    assert math.isfinite(float(value)), f"objective {value}"
    scale = n * n * float(np.max(np.abs(problem.A.astype(np.float64)))) * float(
        np.max(np.abs(problem.B.astype(np.float64))))
    tolerance = max(1e-9 * scale, 1e-300)
    assert abs(float(value) - float(qap.objective(problem, None, p))) <= tolerance
    exact = exact_objective(problem.A, problem.B, p)
    assert abs(float(value) - float(exact)) <= tolerance, f"objective {value} but the exact value is {exact}"
    if lower_bound is not None:
        assert float(lower_bound) <= float(value) + tolerance, f"lower bound {lower_bound} > objective {value}"


def evo_objective(problem, p):
    if isinstance(problem, QAP):
        return exact_objective(problem.problem.A, problem.problem.B, p)
    if isinstance(problem, TSP):
        return math.fsum(float(problem.D[p[k], p[(k + 1) % len(p)]]) for k in range(len(p)))
    W = problem.W  # linear ordering: EvoFlow minimises the backward weight
    return math.fsum(float(W[p[j], p[i]]) for i in range(len(p)) for j in range(i + 1, len(p)))


# ---------------------------------------------------------------------------------------------------------------
# QAPFlow: mezan.qap.solve (every method and mode), mezan.qap.quadratic_assignment.

SOLVE_CHOICES = [{"method": m} for m in qap.METHODS] + [{"mode": m} for m in qap.MODES]


@FUZZ
@given(pair=qap_pairs(), choice=st.sampled_from(SOLVE_CHOICES), maximize=st.booleans())
def test_qap_solve_on_hostile_matrices(pair, choice, maximize):
    A, B = pair
    result = mezan_or_value(lambda: qap.solve(A, B, time_limit=LIMIT, seed=0, maximize=maximize, **choice))
    if result is not None:
        assert result.status in STATUSES - {"error", "infeasible", "unbounded"}
        assert_valid_qap(QAPProblem(A, B), result.permutation, result.objective,
                         None if maximize else result.lower_bound)


permutation_like = st.one_of(st.permutations(range(4)).map(list), st.lists(st.integers(-2, 6), max_size=5),
                             hostile_matrices(4), st.just(np.eye(4)), hostile_scalars)
index_pairs = st.one_of(st.just([[0, 1]]), st.just([[0, 1], [1, 0]]), hostile_matrices(2), hostile_scalars,
                        st.lists(st.lists(st.one_of(st.integers(-2, 5), hostile_scalars), min_size=2, max_size=2),
                                 max_size=3))
short_budgets = st.one_of(st.floats(1e-6, LIMIT), hostile_scalars.filter(  # a long finite budget would just run
    lambda v: not (isinstance(v, (int, float)) and not isinstance(v, bool) and LIMIT < v < math.inf)))
QAP4 = (np.array([[0, 5, 2, 4], [5, 0, 3, 0], [2, 3, 0, 0], [4, 0, 0, 0]]),
        np.array([[0, 1, 1, 2], [1, 0, 1, 1], [1, 1, 0, 1], [2, 1, 1, 0]]))
SOLVE_OPTIONS = {
    "partial_match": index_pairs,
    "initial": permutation_like,
    "seed": st.one_of(st.integers(0, 2**63 - 1), hostile_scalars),
    "target": st.one_of(hostile_scalars, st.just(np.complex128(1))),
    "max_iter": st.one_of(st.integers(1, 10**6), hostile_scalars),
    "time_limit": short_budgets,
    "maximize": st.one_of(st.booleans(), hostile_scalars, hostile_matrices(2)),
    "lower_bound": st.one_of(st.none(), st.booleans(), hostile_scalars),
    "threads": st.one_of(st.integers(1, 3), st.sampled_from((0, -1, 2.5, "2", True, 1025, 2**40, None))),
    "progress": st.sampled_from((None, 3, "print", print)),
}


@pytest.mark.parametrize("option", sorted(SOLVE_OPTIONS))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(choice=st.sampled_from(SOLVE_CHOICES), data=st.data())
def test_qap_solve_with_a_hostile_option(option, choice, data):
    value = data.draw(SOLVE_OPTIONS[option], label=option)
    options = {"time_limit": LIMIT, "max_iter": 200, "seed": 0, option: value}
    if option == "time_limit":
        options.pop("max_iter")
    result = mezan_or_value(lambda: qap.solve(*QAP4, **choice, **options))
    if result is not None:
        assert_valid_qap(QAPProblem(*QAP4), result.permutation, result.objective)
        if option == "partial_match" and value is not None and np.size(value):
            for i, k in np.asarray(value).reshape(-1, 2).astype(np.int64):
                assert result.permutation[i] == k  # an accepted partial match holds


SCIPY_OPTIONS = {
    "maximize": st.one_of(st.booleans(), hostile_scalars, hostile_matrices(2)),
    "partial_match": index_pairs,
    "rng": st.one_of(st.none(), st.integers(0, 2**63 - 1), hostile_scalars),
    "P0": st.one_of(st.sampled_from(("barycenter", "randomized", "other")), permutation_like,
                    st.just(np.full((4, 4), 0.25)), hostile_matrices(4)),
    "shuffle_input": st.one_of(st.booleans(), hostile_scalars),
    "maxiter": st.one_of(st.integers(1, 1000), hostile_scalars.filter(lambda v: not (
        isinstance(v, (int, float)) and 10**4 < v < 2**31))),  # faq has no time limit: a huge cap just runs
    "tol": st.one_of(st.floats(1e-6, 1.0), hostile_scalars.filter(lambda v: not (
        isinstance(v, (int, float)) and 0 < v < 1e-6))),
    "partial_guess": index_pairs,
    "target": hostile_scalars,
    "time_limit": short_budgets,
    "bogus_option": st.just(1),
}


@pytest.mark.parametrize("option", sorted(SCIPY_OPTIONS))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(method=st.sampled_from(("faq", "2opt", "rots", "anneal", "local")), data=st.data())
def test_quadratic_assignment_with_a_hostile_option(option, method, data):
    options = {option: data.draw(SCIPY_OPTIONS[option], label=option)}
    if method in ("rots", "anneal", "local"):
        options.setdefault("time_limit", LIMIT)
    result = mezan_or_value(lambda: qap.quadratic_assignment(*QAP4, method=method, options=options))
    if result is not None:
        assert set(result) >= {"col_ind", "fun", "nit"}
        assert_valid_qap(QAPProblem(*QAP4), result.col_ind, result.fun)


@FUZZ
@given(pair=qap_pairs(max_n=5), method=st.sampled_from(("faq", "2opt", "rots", "anneal", "local")),
       maximize=st.booleans())
def test_quadratic_assignment_on_hostile_matrices(pair, method, maximize):
    A, B = pair
    options = {"maximize": maximize, "rng": 0, **({"time_limit": LIMIT} if method in ("rots", "anneal", "local")
                                                   else {})}
    result = mezan_or_value(lambda: qap.quadratic_assignment(A, B, method=method, options=options))
    if result is not None:
        assert set(result) >= {"col_ind", "fun", "nit"}
        assert_valid_qap(QAPProblem(A, B), result.col_ind, result.fun)


# ---------------------------------------------------------------------------------------------------------------
# EvoFlow: evolve on QAP, TSP and LinearOrdering.

EVO_OPTIONS = {
    "crossover": st.one_of(st.sampled_from(("ox", "pmx", "cx", "position", "uniform")), hostile_scalars),
    "mutation": st.one_of(st.sampled_from(("swap", "insert", "inversion", "scramble")), hostile_scalars),
    "mutation_rate": st.one_of(st.floats(0, 1), hostile_scalars),
    "local_search": st.one_of(st.none(), st.booleans(), hostile_scalars),
    "selection": st.one_of(st.sampled_from(("tournament", "rank")), hostile_scalars),
    "tournament_size": st.one_of(st.integers(1, 8), hostile_scalars),
    "distance": st.one_of(st.sampled_from(("hamming", "position")), hostile_scalars),
    "population": st.one_of(st.integers(2, 80), st.sampled_from((0, 1, -3, 2.5, "8", True, 10**6, 2**40))),
    "generations": st.one_of(st.integers(1, 5), hostile_scalars),  # the time limit ends a long run
    "max_evaluations": st.one_of(st.integers(1, 500), hostile_scalars),
    "seed": st.one_of(st.integers(0, 2**63 - 1), hostile_scalars),
    "target": hostile_scalars,
    "threads": st.one_of(st.integers(1, 3), st.sampled_from((0, -1, 2.5, "2", True, 1025, 2**40, None))),
    "kind": st.one_of(st.just("permutation"), hostile_scalars),
    "n": st.one_of(st.integers(0, 7), hostile_scalars),
}


@FUZZ
@given(kind=st.sampled_from((QAP, TSP, LinearOrdering)), pair=qap_pairs())
def test_evolve_on_hostile_problems(kind, pair):
    A, B = pair
    problem = mezan_or_value(lambda: kind(A, B) if kind is QAP else kind(A))
    if problem is not None:
        check_evolve(problem, mezan_or_value(lambda: evolve(problem, time_limit=LIMIT, generations=3, seed=0)))


@pytest.mark.parametrize("option", sorted(EVO_OPTIONS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(kind=st.sampled_from((QAP, TSP, LinearOrdering)), data=st.data())
def test_evolve_with_a_hostile_option(option, kind, data):
    problem = QAP(*QAP4) if kind is QAP else kind(QAP4[1])
    options = {"time_limit": LIMIT, "generations": 3, "seed": 0, option: data.draw(EVO_OPTIONS[option], label=option)}
    n = options.pop("n", None)
    check_evolve(problem, mezan_or_value(lambda: evolve(problem, n, **options)))


def check_evolve(problem, result):
    if result is None:
        return
    p = [int(v) for v in result.best]
    assert sorted(p) == list(range(problem.n))
    assert math.isfinite(result.fitness) and result.status in STATUSES
    expected = float(evo_objective(problem, p))
    assert abs(result.fitness - expected) <= 1e-9 * max(1.0, abs(expected)) + 1e-9 * _scale(problem)


def _scale(problem):
    matrices = (problem.problem.A, problem.problem.B) if isinstance(problem, QAP) else (
        (problem.D,) if isinstance(problem, TSP) else (problem.W,))
    return problem.n ** 2 * math.prod(float(np.max(np.abs(m.astype(np.float64)))) for m in matrices)


@FUZZ
@given(pair=qap_pairs(max_n=5), options=st.fixed_dictionaries({}, optional={"nominal": hostile_scalars}))
def test_robust_qap_on_hostile_matrices(pair, options):
    A, B = pair
    data = {"type": "robust_qap", "flows": [A.tolist() if isinstance(A, np.ndarray) else A],
            "distances": [B.tolist() if isinstance(B, np.ndarray) else B], **options}
    problem = mezan_or_value(lambda: RobustQAPProblem.from_dict(data))
    if problem is None:
        return
    result = mezan_or_value(lambda: registry.get("dualflow.robust_qap").solve(problem, time_limit=LIMIT, seed=0))
    if result is not None:
        check_robust_qap(problem, result)


# ---------------------------------------------------------------------------------------------------------------
# The flows, through their records' from_dict: a valid template with hostile fields.

ALLOCATION = {"type": "allocation", "budgets": {"cash": 100, "staff": 4},
              "groups": {"lab": {"min": 1, "max": 6}},
              "items": [{"id": "a", "cost": {"cash": 10, "staff": 1}, "value": 3, "max": 5, "integer": True,
                         "group": "lab"},
                        {"id": "b", "cost": {"cash": 20}, "utility": [[0, 0], [2, 10], [5, 14]]},
                        {"id": "c", "cost": {"cash": 5, "staff": 1}, "value": 1, "min": 0, "max": 3}]}
ROBUST_ALLOCATION = {"type": "robust_allocation", "budget": 10, "nominal": 0,
                     "items": [{"id": "a", "cost": 3, "value": 4, "max": 3, "integer": True},
                               {"id": "b", "cost": 2, "value": 3, "max": 5}],
                     "scenarios": [{"a": 1, "b": 5}, {"a": 6}]}
NETWORK = {"type": "network_design", "task": "fixed_charge", "terminals": ["s", "t"],
           "nodes": [{"id": "s", "supply": 4}, {"id": "m"}, {"id": "t", "supply": -4}],
           "edges": [{"from": "s", "to": "t", "cost": 3, "capacity": 10, "fixed_cost": 1},
                     {"from": "s", "to": "m", "cost": 1, "fixed_cost": 2},
                     {"from": "m", "to": "t", "cost": 1, "capacity": 3, "fixed_cost": 2}]}
ROBUST_ASSIGNMENT = {"type": "robust_assignment", "nominal": 1,
                     "costs": [[[1, 5, 3], [4, 1, 2], [3, 3, 1]], [[2, 1, 4], [1, 3, 3], [5, 2, 1]]]}
ROBUST_QAP = {"type": "robust_qap", "nominal": 1, "flows": [[[0, 3, 1], [3, 0, 2], [1, 2, 0]]],
              "distances": [[[0, 1, 5], [1, 0, 2], [5, 2, 0]], [[0, 4, 1], [4, 0, 1], [1, 1, 0]]]}
MATRIX_GAME = {"type": "matrix_game", "payoff": [[3, -1, 0], [-2, 4, 1]]}
WORKFLOW = {"type": "workflow", "resources": {"lab": 2, "crane": 1},
            "tasks": [{"id": "t1", "duration": 3, "resources": {"lab": 1}, "agent": "ann"},
                      {"id": "t2", "duration": 2, "resources": {"lab": 2}},
                      {"id": "t3", "duration": 4, "resources": {"crane": 1}, "agent": "ann"},
                      {"id": "t4", "duration": 1, "agent": 7}],
            "precedences": [["t1", "t2"], ["t1", "t4"]]}

EPS = 1e-6


def check_quantities(problem, allocation):
    """Every item within its bounds (whole when integer) and every budget respected."""
    for item in problem.items:
        q = allocation[item.id]
        assert q >= item.min - EPS * max(1.0, abs(item.min))
        assert item.max is None or q <= item.max + EPS * max(1.0, abs(item.max))
        if item.integer:
            assert float(q).is_integer()
    for budget, limit in problem.budgets.items():
        terms = [item.cost.get(budget, 0.0) * allocation[item.id] for item in problem.items]
        assert math.fsum(terms) <= limit + EPS * max([1.0, abs(limit)] + [abs(t) for t in terms])


def check_allocation(problem, result):
    assert result.status in STATUSES
    if result.objective is None:  # none found (infeasible, or stopped before one); a timeout may return its best
        assert result.status not in ("optimal", "feasible")
        return
    assert math.isfinite(result.objective)
    check_quantities(problem, result.allocation)
    value = math.fsum(item.value_of(result.allocation[item.id]) for item in problem.items)
    assert result.objective == pytest.approx(value, rel=1e-6, abs=1e-6)


def check_network(problem, result):
    assert result.status in STATUSES
    if result.objective is None:
        return
    assert math.isfinite(result.objective)
    known = {(u, v) for u, v, *_ in problem.edges}
    for u, v in result.edges:
        assert (u, v) in known or (v, u) in known
    if problem.task in ("min_cost_flow", "fixed_charge") and result.status == "optimal":
        net = dict.fromkeys(problem.nodes, 0.0)
        for key, f in result.flows.items():
            u, v = key.split("->")
            assert f >= -EPS
            net[u] += f
            net[v] -= f
        scale = max([1.0] + [abs(s) for s in problem.supply.values()])
        for node in problem.nodes:
            assert net[node] == pytest.approx(problem.supply.get(node, 0.0), abs=1e-6 * scale)


def check_robust_assignment(problem, result):
    if result.solution is None:
        assert result.status in ("cancelled", "timeout", "infeasible")
        return
    n = problem.n
    p = [int(v) for v in result.solution]
    assert sorted(p) == list(range(n))
    values = [math.fsum(float(problem.costs[s][i, p[i]]) for i in range(n)) for s in range(len(problem.costs))]
    assert result.objective == pytest.approx(max(values), rel=1e-9, abs=1e-9)


def check_robust_allocation(problem, result):
    if result.solution is None:
        assert result.objective is None and result.status in STATUSES
        return
    check_quantities(problem.base, result.solution)
    values = [math.fsum(problem.values(s)[i] * q for i, q in result.solution.items())
              for s in range(len(problem.scenarios))]
    assert result.scenario_values == pytest.approx(values, rel=1e-9, abs=1e-9)
    assert result.objective == pytest.approx(min(values), rel=1e-9, abs=1e-9)


def check_robust_qap(problem, result):
    p = [int(v) for v in result.solution]
    worst = max(range(problem.scenarios), key=lambda k: exact_objective(problem.scenario(k).A,
                                                                        problem.scenario(k).B, p))
    assert_valid_qap(problem.scenario(worst), p, result.objective)  # the objective is the worst scenario's
    assert result.lower_bound is None or result.lower_bound <= result.objective + 1e-9 * max(1, abs(result.objective))


def check_matrix_game(problem, result):
    if result.objective is None:
        assert result.status in ("cancelled", "timeout")
        return
    A = problem.payoff
    p, q = np.asarray(result.row_strategy), np.asarray(result.column_strategy)
    assert p.sum() == pytest.approx(1.0, abs=1e-6) and q.sum() == pytest.approx(1.0, abs=1e-6)
    assert (p >= 0).all() and (q >= 0).all()
    scale = max(1.0, float(np.max(np.abs(A))))
    assert float(np.min(p @ A)) >= result.objective - 1e-6 * scale  # the row strategy guarantees the value
    assert float(np.max(A @ q)) <= result.objective + 1e-6 * scale  # and the column strategy holds it there


def check_workflow(problem, result):
    assert result.status in STATUSES
    if result.objective is None:
        assert result.status == "infeasible"
        return
    duration = {t.id: t.duration for t in problem.tasks}
    start = result.start
    assert set(start) == set(duration) and min(start.values()) >= 0
    for a, b in problem.precedences:
        assert start[b] >= start[a] + duration[a]
    for resource, capacity in problem.resources.items():
        for t in set(start.values()):
            assert sum(task.resources.get(resource, 0) for task in problem.tasks
                       if start[task.id] <= t < start[task.id] + task.duration) <= capacity
    for task in problem.tasks:
        for other in problem.tasks:
            if task is not other and task.agent is not None and task.agent == other.agent and \
                    task.duration and other.duration:
                a, b = start[task.id], start[other.id]
                assert a + task.duration <= b or b + other.duration <= a
    assert result.makespan == max(start[k] + duration[k] for k in start)
    assert result.lower_bound is None or result.lower_bound <= result.makespan


FAMILIES = {
    "allocation": (AllocationProblem, ALLOCATION, "allocflow.highs", check_allocation),
    "robust_allocation": (RobustAllocationProblem, ROBUST_ALLOCATION, "dualflow.robust_allocation",
                          check_robust_allocation),
    "network_design": (NetworkDesignProblem, NETWORK, "graphflow.network", check_network),
    "robust_assignment": (RobustAssignmentProblem, ROBUST_ASSIGNMENT, "dualflow.robust_assignment",
                          check_robust_assignment),
    "matrix_game": (MatrixGameProblem, MATRIX_GAME, "dualflow.matrix_game", check_matrix_game),
    "robust_qap": (RobustQAPProblem, ROBUST_QAP, "dualflow.robust_qap", check_robust_qap),
    "workflow": (WorkflowProblem, WORKFLOW, "workflow.schedule", check_workflow),
}


def too_long_for_the_heuristic(problem):
    """WorkFlow's list scheduler walks time unit by time unit: durations in the millions take minutes (see
    test_hardening.test_a_workflow_with_long_durations_ends_within_its_budget), so the fuzzer keeps below that."""
    return isinstance(problem, WorkflowProblem) and sum(t.duration for t in problem.tasks) > 10**4


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_flow_templates_are_valid_and_solve(family):
    record, template, solver, check = FAMILIES[family]
    problem = record.from_dict(template)
    check(problem, registry.get(solver).solve(problem, time_limit=0.5, seed=0))


@pytest.mark.parametrize("family", sorted(FAMILIES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_flow_records_parse_hostile_wire_forms(family, data):
    """from_dict alone (fast, so many examples): a record or a MezanError naming what is wrong."""
    record, template, _, _ = FAMILIES[family]
    wire = data.draw(mutated(template), label="wire form")
    problem = mezan_or_value(lambda: record.from_dict(wire))
    assert problem is None or isinstance(problem, record)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_flow_records_from_hostile_wire_forms(family, data):
    record, template, solver, check = FAMILIES[family]
    wire = data.draw(mutated(template), label="wire form")
    if data.draw(st.booleans(), label="drop the type"):
        wire.pop("type", None)  # from_dict takes it as optional
    problem = mezan_or_value(lambda: record.from_dict(wire))
    if problem is None:
        return
    assume(not too_long_for_the_heuristic(problem))
    result = mezan_or_value(lambda: registry.get(solver).solve(problem, time_limit=LIMIT, seed=0))
    if result is not None:
        check(problem, result)


# ---------------------------------------------------------------------------------------------------------------
# mezan.compile / mezan.solve: composite requests with random references and single wire forms.

TEMPLATES = {
    "qap": {"type": "qap", "A": [[0, 2, 1], [2, 0, 3], [1, 3, 0]], "B": [[0, 1, 4], [1, 0, 2], [4, 2, 0]]},
    "allocation": {"type": "allocation", "budget": 10, "items": [{"id": "x", "cost": 2, "value": 3, "max": 4},
                                                                 {"id": "y", "cost": 1, "value": 1, "max": 2}]},
    "workflow": {"type": "workflow", "tasks": [{"id": "t1", "duration": 2, "agent": 0},
                                               {"id": "t2", "duration": 3, "agent": 1}],
                 "precedences": [["t1", "t2"]]},
    "matrix_game": {"type": "matrix_game", "payoff": [[1, -1], [-1, 1]]},
    "network_design": {"type": "network_design", "task": "mst", "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
                       "edges": [{"from": "a", "to": "b", "cost": 1}, {"from": "b", "to": "c", "cost": 2}]},
}
ALL_OUTPUTS = sorted({name for fields in OUTPUTS.values() for name in fields} | {"makespan", "nope"})
reference_suffixes = st.sampled_from(("",) * 6 + ("[0]", "[1]", "[7]", ".t1", ".x", ".a", ".budget:cash", "[0][0]",
                                                ".a.b", "[-1]", "[", "..", "[x]"))


@st.composite
def composite_requests(draw):
    """1-3 subproblems from valid templates; later ones usually depend on earlier ones and get 0-2 references in
    random fields: mostly to a field the parent produces, sometimes to a wrong field, a wrong shape, a non-parent."""
    kinds = draw(st.lists(st.sampled_from(sorted(TEMPLATES)), min_size=1, max_size=3))
    subs = []
    for k, kind in enumerate(kinds):
        spec = {**_copy(TEMPLATES[kind]), "id": f"s{k}"}
        earlier = [f"s{j}" for j in range(k)]
        if earlier and draw(st.integers(0, 4)):
            spec["depends_on"] = draw(st.one_of(st.just(earlier), st.sampled_from(earlier),
                                                st.sampled_from(("ghost", f"s{k}", 3, None))))
        for _ in range(draw(st.integers(0, 2)) if earlier else 0):
            paths = [p for p in _paths(spec) if p[0] not in ("type", "id", "depends_on")]
            path = draw(st.sampled_from(paths))
            parent = spec
            for key in path[:-1]:
                parent = parent[key]
            source = draw(st.sampled_from(earlier * 4 + ["ghost"]))
            produced = OUTPUTS[kinds[int(source[1:])]] if source != "ghost" else ALL_OUTPUTS
            field = draw(st.one_of(st.sampled_from(produced), st.sampled_from(ALL_OUTPUTS)))
            parent[path[-1]] = f"${source}.{field}{draw(reference_suffixes)}"
        if draw(st.integers(0, 5)) == 0:
            spec[draw(st.sampled_from(("time_limit", "solver", "type")))] = draw(json_values)
        subs.append(spec)
    return {"type": "composite", "subproblems": subs}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(request=composite_requests())
def test_composite_requests_with_random_references(request):
    plan = mezan_or_value(lambda: mezan.compile(request))
    assert plan is None or isinstance(plan, Plan)
    result = mezan_or_value(lambda: mezan.solve(request, time_limit=LIMIT, seed=0))
    assert (plan is None) == (result is None)  # compile refuses exactly what solve refuses
    if result is None:
        return
    assert isinstance(result, CompositeResult) and result.status in ("ok", "partial", "failed")
    assert set(result.results) == {spec["id"] for spec in request["subproblems"]}
    for sid, out in result.results.items():
        assert out["status"] in STATUSES | {"skipped"}, (sid, out)
        assert "internal error" not in out.get("reason", ""), (sid, out["reason"])
        if out["status"] == "error":
            assert repr(sid) in out["reason"], (sid, out["reason"])  # the message names the subproblem


@FUZZ
@given(kind=st.sampled_from(sorted(TEMPLATES)), data=st.data())
def test_single_wire_forms_through_mezan_solve(kind, data):
    wire = data.draw(mutated(TEMPLATES[kind]), label="wire form")
    problem = mezan_or_value(lambda: mezan.c2sc.from_wire(wire))
    if problem is None or too_long_for_the_heuristic(problem):
        return
    result = mezan_or_value(lambda: mezan.solve(wire, time_limit=LIMIT, seed=0))
    if result is not None:
        assert result.status in STATUSES
        if kind == "qap":
            assert_valid_qap(problem, result.permutation, result.objective, result.lower_bound)


# ---------------------------------------------------------------------------------------------------------------
# What the fuzzers above found, pinned: each input must be refused with a MezanError or give a valid result.

ZERO_B = (np.array([[0.0, 1e300], [1e300, 0.0]]), np.zeros((2, 2)))
INT64_EDGE = (np.array([[-(2**63), 2, 1], [2, 0, 3], [1, 3, 0]]), np.array([[0, 1, 4], [1, 0, 2], [4, 2, 0]]))
QAP_CALLS = {
    "solve initial ragged": lambda: qap.solve(*QAP4, method="rots", time_limit=LIMIT, initial=[[0, 1], [1]]),
    "solve partial_match with None": lambda: qap.solve(*QAP4, method="rots", time_limit=LIMIT,
                                                       partial_match=[[0, None]]),
    "solve partial_match strings": lambda: qap.solve(*QAP4, method="rots", time_limit=LIMIT,
                                                     partial_match=[["a", "b"]]),
    "solve partial_match ragged": lambda: qap.solve(*QAP4, method="rots", time_limit=LIMIT,
                                                    partial_match=[[0, 1], [1]]),
    "solve partial_match complex": lambda: qap.solve(*QAP4, method="rots", time_limit=LIMIT,
                                                     partial_match=np.zeros((1, 2), complex)),
    "solve partial_match 1e100": lambda: qap.solve(*QAP4, method="rots", time_limit=LIMIT,
                                                   partial_match=[[0.0, 1e100]]),
    "solve maximize array": lambda: qap.solve(*QAP4, method="rots", time_limit=LIMIT, maximize=np.ones((2, 2))),
    "solve target complex": lambda: qap.solve(*QAP4, method="rots", time_limit=LIMIT, target=np.complex128(1)),
    "solve target 2**1100": lambda: qap.solve(*QAP4, method="rots", time_limit=LIMIT, target=2**1100),
    "solve time_limit 2**1100": lambda: qap.solve(*QAP4, method="rots", time_limit=2**1100, max_iter=10),
    "faq P0 ragged": lambda: qap.quadratic_assignment(*QAP4, method="faq", options={"P0": [[0, 1], [1]]}),
    "faq P0 strings": lambda: qap.quadratic_assignment(*QAP4, method="faq", options={"P0": [["a"] * 4] * 4}),
    "faq P0 complex": lambda: qap.quadratic_assignment(*QAP4, method="faq",
                                                       options={"P0": np.full((4, 4), 0.25 + 0j)}),
    "faq maxiter 2**31": lambda: qap.quadratic_assignment(*QAP4, method="faq", options={"maxiter": 2**31}),
    "2opt partial_guess strings": lambda: qap.quadratic_assignment(*QAP4, method="2opt",
                                                                   options={"partial_guess": [["a", "b"]]}),
    # B = 0 makes int64_safe true for any A, so the integral float 1e300 is cast to int64 (RuntimeWarning: invalid
    # value encountered in cast; the objective is still 0)
    "solve 1e300 against a zero matrix": lambda: qap.solve(*ZERO_B, method="rots", time_limit=LIMIT),
    # np.abs(-2**63) wraps to -2**63: MetaFlow's features take log10 of it (RuntimeWarning), and the int64 kernel
    # is chosen for data it cannot hold (see test_hardening.test_integer_data_at_the_int64_edge_...)
    "mezan.solve with -2**63 in A": lambda: mezan.solve({"type": "qap", "A": INT64_EDGE[0].tolist(),
                                                         "B": INT64_EDGE[1].tolist()}, time_limit=LIMIT, seed=0),
    "rots maximize array": lambda: qap.quadratic_assignment(*QAP4, method="rots",
                                                            options={"maximize": np.ones(2), "time_limit": LIMIT}),
}


@pytest.mark.parametrize("label", sorted(QAP_CALLS))
def test_pinned_hostile_qap_calls(label):
    result = mezan_or_value(QAP_CALLS[label])
    if result is not None:
        permutation, value = (result.col_ind, result.fun) if isinstance(result, dict) else (result.permutation,
                                                                                             result.objective)
        data = ZERO_B if "zero matrix" in label else INT64_EDGE if "2**63" in label else QAP4
        assert_valid_qap(QAPProblem(*data), permutation, value)


ITEM = [{"id": "a", "cost": 1, "value": 1, "max": 2}]
PINNED_WIRE_FORMS = {
    "allocation budget 2**64": ("allocation", {"budget": 2**64, "items": ITEM}),
    "allocation value 10**30": ("allocation", {"budget": 5, "items": [{"id": "a", "cost": 1, "value": 10**30}]}),
    "allocation item group []": ("allocation", {"budget": 5, "groups": {"g": {"max": 1}},
                                                "items": [{"id": "a", "cost": 1, "group": []}]}),
    "allocation groups true": ("allocation", {"budget": 5, "groups": True, "items": ITEM}),
    "allocation groups list": ("allocation", {"budget": 5, "groups": ["g"], "items": ITEM}),
    "network terminals true": ("network_design", {"task": "mst", "nodes": [{"id": "a"}], "edges": [],
                                                  "terminals": True}),
    "network terminals null": ("network_design", {"task": "mst", "nodes": [{"id": "a"}], "edges": [],
                                                  "terminals": None}),
    "network supply 2**64": ("network_design", {"task": "min_cost_flow", "edges": [],
                                                "nodes": [{"id": "a", "supply": 2**64}]}),
    "workflow precedences true": ("workflow", {"tasks": [{"id": "a", "duration": 1}], "precedences": True}),
    "workflow precedences 5": ("workflow", {"tasks": [{"id": "a", "duration": 1}], "precedences": 5}),
    "workflow duration 10**30": ("workflow", {"tasks": [{"id": "a", "duration": 10**30}]}),
    "robust allocation scenario 2**64": ("robust_allocation", {"budget": 5, "items": ITEM,
                                                               "scenarios": [{"a": 2**64}]}),
    # accepted (isinstance(True, int)), then costs[True] is a boolean index: linear_sum_assignment got a 4-D array
    "robust assignment nominal true": ("robust_assignment", {**ROBUST_ASSIGNMENT, "nominal": True}),
}


@pytest.mark.parametrize("label", sorted(PINNED_WIRE_FORMS))
def test_pinned_hostile_wire_forms(label):
    family, wire = PINNED_WIRE_FORMS[label]
    record, _, solver, check = FAMILIES[family]
    problem = mezan_or_value(lambda: record.from_dict(_copy(wire)))
    if problem is not None:
        assert isinstance(problem, record)
        result = mezan_or_value(lambda: registry.get(solver).solve(problem, time_limit=1.0, seed=0))
        if result is not None:
            check(problem, result)
