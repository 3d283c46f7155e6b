"""Issue 13, "hostile input never crashes, hangs or bypasses a limit": one regression test per defect class.

(a) data whose objective scale overflows double crashed the core (segfault): now refused, in Python
    (InvalidProblemError naming A and B) and in C++ (ValueError); data just inside the range still solves exactly;
(b) min-cost flow on float supplies looped forever in networkx: now an LP that returns at once, and supplies
    beyond MAX_LP_VALUE are refused;
(c) cancel: every flows solver honours ``stop`` and returns promptly with status "cancelled";
(d) the bindings check every permutation and index argument (ValueError, never an out-of-bounds read);
(e) LP-family numbers beyond MAX_LP_VALUE are refused naming the field.

Anything that could crash the interpreter runs in a subprocess, so a segfault fails one test (negative return
code) instead of killing the run.
"""

import re
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import mezan.qap as qap
from mezan import _core
from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.evo import QAP, TSP, LinearOrdering, evolve
from mezan.flows import (
    solve_allocation,
    solve_matrix_game,
    solve_network,
    solve_robust_allocation,
    solve_robust_assignment,
    solve_workflow,
)
from mezan.flows.workflow import generate_rcpsp
from mezan.problems import (
    MAX_LP_VALUE,
    MAX_OBJECTIVE_SCALE,
    AllocationProblem,
    MatrixGameProblem,
    NetworkDesignProblem,
    RobustAllocationProblem,
    RobustAssignmentProblem,
    WorkflowProblem,
)

from conftest import REPO


def run_script(code, timeout=60):
    """Run ``code`` in a fresh interpreter; (return code, stdout lines, stderr). A segfault is a negative code."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)
    return proc.returncode, proc.stdout.splitlines(), proc.stderr


def outcomes(lines):
    """``label<TAB>outcome`` lines -> {label: outcome}."""
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


# ---------------------------------------------------------------------------------------------------------------
# (a) the library crash: off-diagonal 1e308 made every objective and delta overflow to inf/NaN, and rots, anneal
# and the default mode segfaulted; faq raised a bare ValueError from the LAP.

CALLS_ON_HUGE_DATA = """
import numpy as np
import mezan.qap as qap
from mezan import _core
from mezan.evo import QAP, TSP, LinearOrdering, evolve

n = 6
A = np.full((n, n), 1e308)
np.fill_diagonal(A, 0.0)
B = A.copy()

def call(label, fn):
    try:
        fn()
        outcome = "returned"
    except Exception as exc:
        outcome = type(exc).__name__
    print(f"{label}\\t{outcome}", flush=True)

for method in qap.METHODS:
    call(f"solve method={method}", lambda: qap.solve(A, B, method=method, time_limit=0.2, seed=0))
for mode in qap.MODES:
    call(f"solve mode={mode}", lambda: qap.solve(A, B, mode=mode, time_limit=0.2, seed=0))
call("solve default", lambda: qap.solve(A, B, time_limit=0.2, seed=0))
for method in ("rots", "anneal", "local", "faq", "2opt"):
    call(f"quadratic_assignment {method}", lambda: qap.quadratic_assignment(A, B, method=method))
call("evolve QAP", lambda: evolve(QAP(A, B), time_limit=0.2, seed=0))
call("evolve TSP", lambda: evolve(TSP(A), time_limit=0.2, seed=0))
call("evolve LinearOrdering", lambda: evolve(LinearOrdering(A), time_limit=0.2, seed=0))
for method in qap.METHODS:
    call(f"_core.solve_f64 {method}",
         lambda: _core.solve_f64(A, B, method, 0, 1, 100, None, None, _core.SolveControl(0.2, None)))
call("_core.objective_f64", lambda: _core.objective_f64(A, B, np.arange(n, dtype=np.int32)))
call("_core.qap_objective_f64", lambda: _core.qap_objective_f64(A, B))
call("_core.gilmore_lawler_bound_f64", lambda: _core.gilmore_lawler_bound_f64(A, B))
call("_core.faq", lambda: _core.faq(A, B, np.full(n, -1, np.int32), None, 30, 0.03))
print("done", flush=True)
"""


def test_objective_scale_overflow_is_refused_and_never_crashes():
    code, lines, err = run_script(CALLS_ON_HUGE_DATA, timeout=120)
    assert code == 0, f"the interpreter died (return code {code}; a negative code is a signal):\n{err[-3000:]}"
    assert lines[-1] == "done"
    seen = outcomes(lines)
    python = ([f"solve method={m}" for m in qap.METHODS] + [f"solve mode={m}" for m in qap.MODES]
              + ["solve default"] + [f"quadratic_assignment {m}" for m in ("rots", "anneal", "local", "faq", "2opt")]
              + ["evolve QAP", "evolve TSP", "evolve LinearOrdering"])
    core = [f"_core.solve_f64 {m}" for m in qap.METHODS] + ["_core.objective_f64", "_core.qap_objective_f64",
                                                            "_core.gilmore_lawler_bound_f64", "_core.faq"]
    assert set(seen) == set(python) | set(core)
    assert {label: seen[label] for label in python} == dict.fromkeys(python, "InvalidProblemError")
    assert {label: seen[label] for label in core} == dict.fromkeys(core, "InvalidProblemError")


def test_the_refusal_names_a_and_b_and_the_bound():
    A = np.full((4, 4), 1e308)
    with pytest.raises(InvalidProblemError, match=r"A and B: n\^2 max\|A\| max\|B\| .* beyond 1e\+300"):
        qap.solve(A, A, method="rots", time_limit=0.1)
    assert _core.MAX_OBJECTIVE_SCALE == MAX_OBJECTIVE_SCALE == 1e300


@pytest.mark.parametrize(("b_max", "accepted"), [(2.4e149, True), (3e149, False)])
def test_the_limit_is_the_same_in_python_and_in_the_core(b_max, accepted):
    # n = 2: n^2 max|A| max|B| = 4e150 b_max, i.e. 9.6e299 (inside) or 1.2e300 (outside)
    A = np.array([[0.0, 1e150], [1e150, 0.0]])
    B = np.array([[0.0, b_max], [b_max, 0.0]])
    p = np.arange(2, dtype=np.int32)
    if accepted:
        assert qap.objective(A, B, p) == _core.objective_f64(A, B, p) == pytest.approx(2 * 1e150 * b_max)
    else:
        with pytest.raises(InvalidProblemError, match="A and B"):
            qap.objective(A, B, p)
        with pytest.raises(ValueError, match="exceeds 1e300"):
            _core.objective_f64(A, B, p)


@pytest.mark.parametrize("method", ["rots", "anneal", "faq", "hybrid", "memetic"])
def test_data_near_the_limit_solves_to_a_finite_exact_objective(method):
    n = 6
    rng = np.random.default_rng(13)
    A = rng.uniform(-1.0, 1.0, (n, n)) * 1e144  # n^2 max|A| max|B| ~ 3.6e289
    B = rng.uniform(0.0, 1.0, (n, n)) * 1e144
    result = qap.solve(A, B, method=method, time_limit=0.3, seed=0)
    p = np.asarray(result.permutation)
    assert sorted(p.tolist()) == list(range(n))
    assert np.isfinite(result.objective)
    assert result.objective == pytest.approx(qap.objective(A, B, p), rel=1e-12)
    assert result.objective == pytest.approx(float((A * B[np.ix_(p, p)]).sum()), rel=1e-9)


# The commit's require_permutation covers objective, swap_delta, delta tables, PermutationObjective, evo_*; the
# solve_* entry points take `initial` and `fixed` too. Python's solve() validates both before the core; the core
# must not trust them either (an out-of-range index there reads and writes out of bounds).
RAW_SOLVE_WITH_BAD_INDICES = """
import numpy as np
from mezan import _core

n = 5
rng = np.random.default_rng(0)
A, B = rng.random((n, n)), rng.random((n, n))
cases = {
    "initial out of range": (np.array([0, 1, 2, 3, 100000], np.int32), None),
    "initial negative": (np.array([-1, 0, 1, 2, 3], np.int32), None),
    "initial repeats": (np.array([0, 0, 1, 2, 3], np.int32), None),
    "fixed out of range": (None, np.array([100000, -1, -1, -1, -1], np.int32)),
    "fixed repeats a location": (None, np.array([1, 1, -1, -1, -1], np.int32)),
}
for label, (initial, fixed) in cases.items():
    try:
        out = _core.solve_f64(A, B, METHOD, 0, 1, 50, initial, fixed, _core.SolveControl(0.1, None))
        p = sorted(int(v) for v in out["permutation"])
        outcome = "valid" if p == list(range(n)) else f"invalid permutation {out['permutation'].tolist()}"
    except ValueError:
        outcome = "ValueError"
    print(f"{label}\\t{outcome}", flush=True)
"""


@pytest.mark.parametrize("method", ["rots", "faq", "bnb"])
def test_the_core_solve_checks_its_initial_permutation_and_fixed_locations(method):
    code, lines, err = run_script(RAW_SOLVE_WITH_BAD_INDICES.replace("METHOD", repr(method)))
    assert code == 0, (f"_core.solve_f64(method={method!r}) with a bad initial/fixed killed the interpreter (return "
                       f"code {code}) after: {lines}\n{err[-2000:]}")
    assert outcomes(lines) == dict.fromkeys(["initial out of range", "initial negative", "initial repeats",
                                             "fixed out of range", "fixed repeats a location"], "ValueError")


@pytest.mark.parametrize("kind", ["ox", "pmx", "cx", "position", "uniform"])
def test_crossover_of_empty_parents_does_not_crash(kind):
    code, lines, err = run_script(f"""
        import numpy as np
        from mezan import _core
        empty = np.array([], np.int32)
        try:
            print("child", _core._testing.evo_crossover({kind!r}, empty, empty).tolist())
        except ValueError:
            print("ValueError")
    """)
    assert code == 0, f"evo_crossover({kind!r}, [], []) killed the interpreter (return code {code})\n{err[-2000:]}"
    assert lines in (["child []"], ["ValueError"])


def test_integer_data_at_the_int64_edge_is_refused_or_solved_exactly():
    # np.abs(-2**63) wraps to -2**63 in int64, so max|A| came out as 3 and the int64 kernel was chosen: the
    # objective silently wrapped around (reported -9223372036854775802 for an exact -27670116110564327418).
    A = np.array([[0, -2**63, 1], [1, 0, 1], [1, 1, 0]], dtype=np.int64)
    B = np.array([[0, 2, 1], [3, 0, 1], [1, 1, 0]], dtype=np.int64)
    for method in ("faq", "rots", "bnb"):
        try:
            result = qap.solve(A, B, method=method, time_limit=0.1, seed=0)
        except InvalidProblemError:
            continue
        p = [int(v) for v in result.permutation]
        exact = sum(int(A[i, j]) * int(B[p[i], p[j]]) for i in range(3) for j in range(3))
        assert float(result.objective) == pytest.approx(float(exact), rel=1e-9), method


def test_a_callable_permutation_problem_too_large_for_memory_is_refused():
    # QAP data gets check_memory (InstanceTooLargeError, a MezanError); a callable objective's n had no bound, so
    # n = 1e9 reached the engine, whose allocation failed as a bare MemoryError (std::bad_alloc) - or, with
    # enough virtual memory, went on to allocate gigabytes. Run with a 4 GB address-space limit.
    code, lines, err = run_script("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))
        from mezan.errors import MezanError
        from mezan.evo import evolve
        try:
            evolve(lambda p: 0.0, 10**9, population=2, tournament_size=1, time_limit=0.05)
            print("returned")
        except MezanError as exc:
            print("MezanError", type(exc).__name__)
        except BaseException as exc:
            print("other", type(exc).__name__, exc)
    """)
    assert code == 0, err[-2000:]
    assert lines[-1].startswith("MezanError"), lines


# ---------------------------------------------------------------------------------------------------------------
# (b) the hang: networkx's network simplex looped forever on float supplies such as 1e15.

def flow_request(supply):
    return {"task": "min_cost_flow",
            "nodes": [{"id": "s", "supply": supply}, {"id": "a"}, {"id": "b"}, {"id": "t", "supply": -supply}],
            "edges": [{"from": "s", "to": "a", "cost": 0.5, "capacity": 0.6 * supply},
                      {"from": "s", "to": "b", "cost": 1.25}, {"from": "a", "to": "t", "cost": 0.75},
                      {"from": "b", "to": "t", "cost": 0.1}]}


def test_min_cost_flow_with_huge_float_supplies_returns_the_optimum_promptly():
    started = time.perf_counter()
    result = solve_network(NetworkDesignProblem.from_dict(flow_request(1e12)), time_limit=5.0)
    assert time.perf_counter() - started < 10.0
    # s->a->t costs 1.25 per unit but carries at most 0.6e12; the rest goes s->b->t at 1.35 per unit
    assert result.status == "optimal"
    assert result.flows == pytest.approx({"s->a": 6e11, "a->t": 6e11, "s->b": 4e11, "b->t": 4e11}, rel=1e-9)
    assert result.objective == pytest.approx(6e11 * 1.25 + 4e11 * 1.35, rel=1e-9)
    assert result.lower_bound == pytest.approx(result.objective, rel=1e-9)


def test_min_cost_flow_supplies_beyond_the_lp_range_are_refused_naming_supply():
    with pytest.raises(InvalidProblemError, match=r"nodes\[0\]\.supply = \S+ exceeds 1e\+12"):
        NetworkDesignProblem.from_dict(flow_request(1e15))
    with pytest.raises(InvalidProblemError, match=r"supply\['s'\]"):
        NetworkDesignProblem("min_cost_flow", ("s", "t"), (("s", "t", 1.0, None, 0.0),), {"s": 1e15, "t": -1e15})


def test_a_workflow_with_long_durations_ends_within_its_budget():
    # Durations up to 1e12 are valid whole numbers, but the list-scheduling heuristic walks time unit by time unit
    # (a Python list of horizon + 1 entries per resource, a fits() test per unit): two tasks of 1e7 sharing a
    # resource ran for minutes on a 1 s budget, and durations of 1e9 ask for 16 GB.
    try:
        code, lines, err = run_script("""
            from mezan.problems import WorkflowProblem
            from mezan.flows import solve_workflow
            problem = WorkflowProblem.from_dict({"resources": {"r": 1}, "tasks": [
                {"id": "a", "duration": 10**7, "resources": {"r": 1}},
                {"id": "b", "duration": 10**7, "resources": {"r": 1}}]})
            try:
                result = solve_workflow(problem, time_limit=1.0)
                print(result.status, result.makespan)
            except Exception as exc:
                print(type(exc).__name__, exc)
        """, timeout=8.0)
    except subprocess.TimeoutExpired:
        pytest.fail("solve_workflow(time_limit=1.0) on two tasks of duration 1e7 sharing a resource did not return "
                    "within 8 s")
    assert code == 0, err[-2000:]
    status, makespan = lines[-1].split(" ", 1)
    assert status == "InvalidProblemError" or (
        status in ("optimal", "feasible", "timeout") and (makespan == "None" or int(makespan) >= 2 * 10**7))


# ---------------------------------------------------------------------------------------------------------------
# (c) cancel: every flows solver takes ``stop``; HiGHS runs in a worker process that is terminated when it is set,
# CP-SAT is stopped by a watcher thread.

def stop_event(after=None):
    """A threading.Event set now (after=None) or ``after`` seconds from now."""
    event = threading.Event()
    if after is None:
        event.set()
    else:
        timer = threading.Timer(after, event.set)
        timer.daemon = True
        timer.start()
    return event


ALLOCATION_MILP = {"budget": 10, "items": [{"id": "a", "cost": 3, "value": 4, "max": 3, "integer": True},
                                           {"id": "b", "cost": 2, "value": 3, "max": 5, "integer": True}]}
ALLOCATION_LP = {"budget": 10, "items": [{"id": "a", "cost": 3, "value": 4, "max": 3},
                                         {"id": "b", "cost": 2, "value": 3, "max": 5}]}
FIXED_CHARGE = {"task": "fixed_charge",
                "nodes": [{"id": "s", "supply": 4}, {"id": "m"}, {"id": "t", "supply": -4}],
                "edges": [{"from": "s", "to": "t", "cost": 3, "fixed_cost": 1},
                          {"from": "s", "to": "m", "cost": 1, "fixed_cost": 2},
                          {"from": "m", "to": "t", "cost": 1, "fixed_cost": 2}]}


@pytest.mark.parametrize("request_", [ALLOCATION_MILP, ALLOCATION_LP], ids=["milp", "lp"])
def test_allocation_with_stop_set_is_cancelled_or_a_valid_optimum(request_):
    problem = AllocationProblem.from_dict(request_)
    started = time.perf_counter()
    result = solve_allocation(problem, time_limit=10.0, stop=stop_event())
    assert time.perf_counter() - started < 3.0
    if result.status == "cancelled":  # the stop was seen before HiGHS answered
        assert result.allocation is None and result.objective is None and "cancelled" in result.reason
    else:  # HiGHS answered first: then the answer is right
        assert result.status == "optimal"
        assert 3 * result.allocation["a"] + 2 * result.allocation["b"] <= 10 + 1e-9
        assert result.objective == pytest.approx(15.0)  # b = 5 uses the whole budget, in both models


def test_highs_with_stop_already_set_is_cancelled_before_any_worker_starts():
    # Deterministic: run_isolated checks stop before it takes a worker, so even a trivial LP cannot beat the poll.
    from scipy.optimize import Bounds

    from mezan import isolated
    from mezan.flows import highs

    idle = list(isolated._pool.idle)
    assert highs.linprog(c=np.array([1.0]), bounds=[(0.0, 1.0)], stop=stop_event()) == (None, "cancelled")
    assert highs.milp(c=np.array([1.0]), integrality=np.array([1]), bounds=Bounds(0.0, 1.0),
                      stop=stop_event()) == (None, "cancelled")
    assert isolated._pool.idle == idle  # no worker was taken (nor started)
    result = solve_allocation(AllocationProblem.from_dict(ALLOCATION_MILP), time_limit=10.0, stop=stop_event())
    assert result.status == "cancelled" and result.allocation is None and result.objective is None


def test_fixed_charge_with_stop_set_is_cancelled_or_a_valid_optimum():
    result = solve_network(NetworkDesignProblem.from_dict(FIXED_CHARGE), time_limit=10.0, stop=stop_event())
    if result.status == "cancelled":
        assert result.edges is None and result.objective is None
    else:  # direct edge: 3 * 4 + 1 = 13; through m: 2 * 4 + 4 = 12
        assert result.status == "optimal" and result.objective == pytest.approx(12.0)
        assert sorted(result.edges) == [("m", "t"), ("s", "m")]


def test_min_cost_flow_with_stop_set_is_cancelled_or_a_valid_optimum():
    result = solve_network(NetworkDesignProblem.from_dict(flow_request(10.0)), time_limit=10.0, stop=stop_event())
    if result.status == "cancelled":
        assert result.flows == {} and result.objective is None
    else:
        assert result.status == "optimal" and result.objective == pytest.approx(6 * 1.25 + 4 * 1.35)


def test_matrix_game_with_stop_set_is_cancelled_or_the_value():
    problem = MatrixGameProblem.from_dict({"payoff": [[0, -1, 1], [1, 0, -1], [-1, 1, 0]]})  # rock-paper-scissors
    started = time.perf_counter()
    result = solve_matrix_game(problem, time_limit=10.0, stop=stop_event())
    assert time.perf_counter() - started < 3.0
    if result.status == "cancelled":
        assert result.row_strategy is None and result.column_strategy is None and result.objective is None
    else:
        assert result.status == "optimal" and result.objective == pytest.approx(0.0, abs=1e-9)
        assert result.row_strategy == pytest.approx([1 / 3] * 3, abs=1e-6)


def test_robust_allocation_with_stop_set_is_cancelled_or_a_valid_optimum():
    problem = RobustAllocationProblem.from_dict({**ALLOCATION_LP, "scenarios": [{"a": 1}, {"b": 1}]})
    result = solve_robust_allocation(problem, time_limit=10.0, stop=stop_event())
    if result.status == "cancelled":
        assert result.solution is None and result.objective is None
    else:
        assert result.status == "optimal" and min(result.scenario_values) == pytest.approx(result.objective)


def test_robust_assignment_is_cancelled_mid_solve():
    # A min-max assignment HiGHS does not finish in 8 s (n = 18, 8 scenarios): stop it after 0.3 s.
    rng = np.random.default_rng(1)
    problem = RobustAssignmentProblem(rng.integers(1, 100, (8, 18, 18)).astype(float))
    started = time.perf_counter()
    result = solve_robust_assignment(problem, time_limit=60.0, stop=stop_event(after=0.3))
    wall = time.perf_counter() - started
    assert result.status == "cancelled" and result.solution is None and result.objective is None
    assert wall < 5.0  # the 20 ms poll, killing the worker; never the 60 s budget


def valid_schedule(problem, start):
    duration = {t.id: t.duration for t in problem.tasks}
    assert set(start) == set(duration)
    for a, b in problem.precedences:
        assert start[b] >= start[a] + duration[a]
    for resource, capacity in problem.resources.items():
        for t in sorted(set(start.values())):
            load = sum(task.resources.get(resource, 0) for task in problem.tasks
                       if start[task.id] <= t < start[task.id] + task.duration)
            assert load <= capacity
    return max(start[k] + duration[k] for k in start)


def test_workflow_cp_sat_is_cancelled_mid_search_and_keeps_its_schedule():
    problem = generate_rcpsp(90, 4, seed=2, strength=0.1)  # CP-SAT leaves a 25 % gap after 2 s here
    seen = []
    started = time.perf_counter()
    result = solve_workflow(problem, time_limit=60.0, stop=stop_event(after=0.5),
                            progress=lambda best, elapsed: seen.append(best))
    wall = time.perf_counter() - started
    assert result.status == "cancelled" and wall < 5.0
    assert valid_schedule(problem, result.start) == result.makespan
    assert result.lower_bound <= result.makespan
    assert min(seen) == result.makespan  # progress reported every incumbent, down to the one returned


def test_workflow_with_stop_set_before_returns_the_heuristic_schedule_cancelled():
    problem = generate_rcpsp(90, 4, seed=2, strength=0.1)
    started = time.perf_counter()
    result = solve_workflow(problem, time_limit=60.0, stop=stop_event())
    assert result.status == "cancelled" and time.perf_counter() - started < 5.0
    assert valid_schedule(problem, result.start) == result.makespan


# ---------------------------------------------------------------------------------------------------------------
# (d) the bindings check every permutation and index argument.

A3 = np.array([[0.0, 2.0, 1.0], [2.0, 0.0, 3.0], [1.0, 3.0, 0.0]])
B3 = np.array([[0.0, 1.0, 4.0], [1.0, 0.0, 2.0], [4.0, 2.0, 0.0]])
BAD_PERMUTATIONS = [[0, 1], [0, 1, 2, 3], [0, 0, 1], [0, 1, 3], [-1, 0, 1], [[0, 1, 2]], []]
KERNELS = [("f64", A3, B3), ("i64", A3.astype(np.int64), B3.astype(np.int64))]


@pytest.mark.parametrize(("kind", "A", "B"), KERNELS, ids=["f64", "i64"])
@pytest.mark.parametrize("p", BAD_PERMUTATIONS, ids=repr)
def test_objective_and_deltas_refuse_a_bad_permutation(kind, A, B, p):
    p = np.asarray(p, dtype=np.int32)
    with pytest.raises(ValueError, match="p must be a permutation"):
        getattr(_core, f"objective_{kind}")(A, B, p)
    with pytest.raises(ValueError, match="p must be a permutation"):
        getattr(_core, f"swap_delta_{kind}")(A, B, p, 0, 1)
    with pytest.raises(ValueError, match="p must be a permutation"):
        getattr(_core._testing, f"delta_table_after_swaps_{kind}")(A, B, p, [])
    objective = getattr(_core, f"qap_objective_{kind}")(A, B)
    with pytest.raises(ValueError, match="p must be a permutation"):
        objective.evaluate(p)
    with pytest.raises(ValueError, match="p must be a permutation"):
        objective.improve(p)


@pytest.mark.parametrize(("kind", "A", "B"), KERNELS, ids=["f64", "i64"])
def test_swap_indices_out_of_range_are_refused(kind, A, B):
    p = np.array([2, 0, 1], dtype=np.int32)
    swap_delta = getattr(_core, f"swap_delta_{kind}")
    delta_table = getattr(_core._testing, f"delta_table_after_swaps_{kind}")
    for r, s in ((-1, 0), (0, 3), (3, 0), (0, 10**6), (-(10**6), 1)):
        with pytest.raises(ValueError, match=r"(r|s) must lie in \[0, 2\]"):
            swap_delta(A, B, p, r, s)
        with pytest.raises(ValueError, match="swap index must lie in"):
            delta_table(A, B, p, [(r, s)])
    with pytest.raises(ValueError, match="fixed must have one entry per facility"):
        delta_table(A, B, p, [], np.array([-1, -1], dtype=np.int32))
    # and the checked entry points still compute the right numbers
    q = p.copy()
    q[[0, 1]] = q[[1, 0]]
    assert swap_delta(A, B, p, 0, 1) == pytest.approx(qap.objective(A, B, q) - qap.objective(A, B, p))
    assert np.asarray(delta_table(A, B, p, [(1, 0)])).shape == (3, 3)


@pytest.mark.parametrize("make", [lambda: _core.tsp_objective(B3), lambda: _core.linear_ordering_objective(A3)],
                         ids=["tsp", "linear_ordering"])
@pytest.mark.parametrize("p", BAD_PERMUTATIONS, ids=repr)
def test_evo_objectives_refuse_a_bad_permutation(make, p):
    objective = make()
    p = np.asarray(p, dtype=np.int32)
    with pytest.raises(ValueError, match="p must be a permutation"):
        objective.evaluate(p)
    with pytest.raises(ValueError, match="p must be a permutation"):
        objective.improve(p)


@pytest.mark.parametrize("kind", ["ox", "pmx"])
@pytest.mark.parametrize(("a", "b"), [(2, 1), (0, 5), (5, 5), (4, 6)])
def test_crossover_cut_points_out_of_range_are_refused(kind, a, b):
    p1, p2 = np.arange(4, dtype=np.int32), np.array([3, 1, 0, 2], dtype=np.int32)
    with pytest.raises(ValueError, match="cut points"):
        _core._testing.evo_crossover(kind, p1, p2, a=a, b=b)
    child = _core._testing.evo_crossover(kind, p1, p2, a=1, b=3)  # a valid cut still works
    assert sorted(child.tolist()) == [0, 1, 2, 3] and child[1:3].tolist() == p1[1:3].tolist()


@pytest.mark.parametrize("kind", ["ox", "pmx", "cx", "position", "uniform"])
@pytest.mark.parametrize(("p1", "p2"), [([0, 0, 1], [0, 1, 2]), ([0, 1, 2], [0, 1, 5]), ([0, 1, 2], [0, 1]),
                                    ([0, 1, 2], [-1, 0, 1])])
def test_crossover_refuses_parents_that_are_not_permutations(kind, p1, p2):
    with pytest.raises(ValueError, match=r"p[12] must be a permutation"):
        _core._testing.evo_crossover(kind, np.asarray(p1, np.int32), np.asarray(p2, np.int32), seed=1)


@pytest.mark.parametrize("kind", ["swap", "insert", "inversion", "scramble"])
@pytest.mark.parametrize("p", [[0, 0, 1], [0, 1, 5], [-1, 0, 1], [1, 2, 3]])
def test_mutation_refuses_a_non_permutation(kind, p):
    with pytest.raises(ValueError, match="p must be a permutation"):
        _core._testing.evo_mutate(kind, np.asarray(p, np.int32), 7)
    assert sorted(_core._testing.evo_mutate(kind, np.array([2, 0, 1], np.int32), 7).tolist()) == [0, 1, 2]


def test_faq_refuses_mismatched_shapes_and_fixed_locations():
    free = np.full(3, -1, dtype=np.int32)
    with pytest.raises(ValueError, match="square matrices of the same size"):
        _core.faq(A3, np.ones((4, 4)), free, None, 10, 0.03)
    with pytest.raises(ValueError, match="fixed must have n entries"):
        _core.faq(A3, B3, np.full(2, -1, dtype=np.int32), None, 10, 0.03)
    with pytest.raises(ValueError, match=r"fixed\[i\] must be -1"):
        _core.faq(A3, B3, np.array([3, -1, -1], dtype=np.int32), None, 10, 0.03)


# ---------------------------------------------------------------------------------------------------------------
# (e) LP-family numbers beyond MAX_LP_VALUE (1e12) are refused naming the field.

@pytest.mark.parametrize(("build", "field", "value"), [
    (lambda: MatrixGameProblem.from_dict({"payoff": [[1e308, 0.0], [0.0, 1.0]]}), "payoff[0][0]", 1e308),
    (lambda: MatrixGameProblem([[1.0, -1e308]]), "payoff[0][1]", -1e308),
    (lambda: AllocationProblem.from_dict({"budgets": {"cash": 1e300}, "items": [{"id": "a", "cost": {"cash": 1}}]}),
     "budgets['cash']", 1e300),
    (lambda: AllocationProblem.from_dict({"budget": 1e300, "items": [{"id": "a", "cost": 1}]}), "budget", 1e300),
    (lambda: AllocationProblem.from_dict({"budget": 5, "items": [{"id": "a", "cost": 1, "value": -1e13}]}),
     "items[0].value", -1e13),
    (lambda: RobustAssignmentProblem([[[0.0, 2e12], [1.0, 0.0]]]), "costs[0][0][1]", 2e12),
    (lambda: RobustAllocationProblem.from_dict({**ALLOCATION_LP, "scenarios": [{"a": 1e14}]}), "scenarios[0]['a']",
     1e14),
    (lambda: NetworkDesignProblem.from_dict({"task": "mst", "nodes": [{"id": "a"}, {"id": "b"}],
                                             "edges": [{"from": "a", "to": "b", "cost": 1e13}]}), "edges[0].cost",
     1e13),
    (lambda: WorkflowProblem.from_dict({"tasks": [{"id": "a", "duration": 10**13}]}), "tasks[0].duration", 1e13),
    (lambda: WorkflowProblem.from_dict({"resources": {"r": 1e15}, "tasks": [{"id": "a", "duration": 1}]}),
     "resources['r']", 1e15),
])
def test_lp_values_beyond_the_limit_are_refused_naming_the_field(build, field, value):
    with pytest.raises(InvalidProblemError, match=re.escape(field) + r" = (\S+) exceeds 1e\+12") as info:
        build()
    shown = re.search(re.escape(field) + r" = (\S+) exceeds", str(info.value)).group(1)
    assert float(shown) == pytest.approx(value)  # the message shows the offending value


def test_lp_values_at_the_limit_are_accepted_and_solved():
    assert MAX_LP_VALUE == 1e12
    result = solve_matrix_game(MatrixGameProblem([[1e12, 0.0], [0.0, 1e12]]), time_limit=10.0)
    assert result.status == "optimal" and result.objective == pytest.approx(5e11, rel=1e-9)
    assert result.row_strategy == pytest.approx([0.5, 0.5], abs=1e-9)


def test_robust_qap_data_beyond_the_objective_scale_is_refused():
    from mezan.problems import RobustQAPProblem

    with pytest.raises(InvalidProblemError, match="flows and distances"):
        RobustQAPProblem([np.full((3, 3), 1e200)], [np.full((3, 3), 1e200)])


def test_evo_problems_refuse_their_own_scale():
    with pytest.raises(InvalidProblemError, match=r"^D: n max\|D\|"):
        TSP(np.full((3, 3), 1e300))  # n max|D| = 3e300
    with pytest.raises(InvalidProblemError, match=r"^W: n\^2 max\|W\|"):
        LinearOrdering(np.full((3, 3), 2e299))  # n^2 max|W| = 1.8e300
    assert np.isfinite(evolve(TSP(np.full((3, 3), 1e299 / 3)), time_limit=0.05, seed=0).fitness)
    with pytest.raises(InvalidProblemError, match="A and B"):
        QAP(np.full((3, 3), 1e151), np.full((3, 3), 1e149))


@pytest.mark.parametrize("time_limit", [{}, "1", [1.0], True])
def test_the_auto_mode_checks_the_budget_before_reading_it(time_limit):
    # bench/fuzz.py found it: mode "auto" compared time_limit with a number (TypeError) before validating it.
    A = np.arange(400.0).reshape(20, 20) % 7
    with pytest.raises(InvalidParameterError, match="time_limit"):
        qap.solve(A, A.T, mode="auto", time_limit=time_limit)


def test_analyze_reads_a_dat_file_through_the_size_check_before_reading_it(tmp_path, capsys):
    """The fuzzer's case: `mezan analyze` on a sparse 300 MiB .dat read it whole (900 MiB resident) to refuse it."""
    from mezan.cli import main

    big = tmp_path / "x.dat"
    with open(big, "wb") as f:
        f.truncate(300 * 2**20)
    assert main(["analyze", str(big), "--json"]) == 2
    assert "more than the 268,435,456 bytes a file may have" in capsys.readouterr().err


def test_an_instance_spec_with_a_nul_byte_is_refused_by_name(tmp_path):
    """The fuzzer's case: the MCP study tool's instances ["\\x00"] (resolved under its root) raised a bare
    ValueError inside the tool."""
    from mezan.bench.instances import parse

    for root in (None, tmp_path):
        with pytest.raises(InvalidParameterError, match="a spec cannot hold a NUL byte"):
            parse("good.dat\x00.json", root=root)


def test_sunny_without_features_computes_one_schedule_for_every_row():
    """The fuzzer's case: 20,000 instances without features made every row's neighbourhood the whole training set
    and one schedule per row (over 40 s); without features every row has the same schedule."""
    from mezan.meta.sunny import SunnySchedules

    rng = np.random.default_rng(0)
    costs = rng.uniform(1, 10, (200, 3))
    sunny = SunnySchedules().fit(np.empty((200, 0)), costs, cutoff=10.0)
    schedules = sunny.schedules(np.empty((50, 0)))
    assert len(schedules) == 50 and all(s is schedules[0] for s in schedules)


def test_an_instance_spec_that_is_a_loop_of_links_under_a_root_is_refused_by_name(tmp_path):
    """The fuzzer's case (final run): the MCP study tool on 'loop.dat', a symlink to itself under its root, raised
    pathlib's bare RuntimeError ("Symlink loop") while the spec was confined to the root."""
    from mezan.bench.instances import parse

    (tmp_path / "loop.dat").symlink_to(tmp_path / "loop.dat")
    with pytest.raises(InvalidParameterError, match=r"loop\.dat: a loop of symbolic links"):
        parse("loop.dat", root=tmp_path)
    with pytest.raises(InvalidParameterError, match="loop"):
        parse(str(tmp_path / "loop.dat"))
