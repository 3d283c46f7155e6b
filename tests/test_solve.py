"""mezan.qap.solve: optimality on small instances, budgets, determinism, options, cancellation."""

import os
import signal
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezan import registry
from mezan.errors import InvalidParameterError
from mezan.qap import METHODS, generate, load, solve

from conftest import brute_force, needs, numpy_objective, qap_instances
from solver_instances import instances


def is_permutation(p, n):
    return sorted(np.asarray(p).tolist()) == list(range(n))


@settings(max_examples=60, deadline=None)
@given(qap_instances(2, 8, values=("int",), low=0, high=20), st.integers(0, 1000))
def test_rots_finds_the_enumerated_optimum(inst, seed):
    A, B, *_ = inst
    optimum, _ = brute_force(A, B)
    result = solve(A, B, method="rots", max_iter=3000, time_limit=None, seed=seed)
    assert is_permutation(result.permutation, len(A))
    assert result.objective == numpy_objective(A, B, result.permutation)
    assert result.objective == optimum
    assert result.lower_bound <= optimum


@settings(max_examples=30, deadline=None)
@given(qap_instances(2, 8, values=("int",), low=0, high=20), st.sampled_from(["anneal", "local", "local_first", "faq"]))
def test_other_methods_return_consistent_results(inst, method):
    A, B, *_ = inst
    optimum, _ = brute_force(A, B)
    result = solve(A, B, method=method, max_iter=2000, time_limit=None, seed=3)
    assert is_permutation(result.permutation, len(A))
    assert result.objective == numpy_objective(A, B, result.permutation)
    assert result.objective >= optimum
    assert result.method == method


def test_anneal_and_local_reach_the_optimum_of_nug12():
    problem = load("nug12")
    for method in ("anneal", "local"):
        result = solve(problem, None, method=method, time_limit=5.0, seed=1, target=578)
        assert result.objective == 578, method


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_and_cap_give_the_same_result(method):
    problem = generate.taillard_a(25, seed=4)
    runs = [solve(problem, None, method=method, max_iter=500, time_limit=None, seed=11) for _ in range(2)]
    assert np.array_equal(runs[0].permutation, runs[1].permutation)
    assert runs[0].objective == runs[1].objective
    assert runs[0].iterations == runs[1].iterations


def test_time_limit_is_respected_and_reported():
    problem = generate.taillard_a(60, seed=1)
    result = solve(problem, None, time_limit=0.3, seed=0)
    assert result.status == "timeout"
    assert 0.25 <= result.wall_time < 0.3 + 1.0
    assert result.iterations > 100
    times = [t for t, _ in result.trace]
    values = [v for _, v in result.trace]
    assert times == sorted(times) and values == sorted(values, reverse=True)
    assert values[-1] == result.objective


def test_target_stops_early_and_optimal_status_from_the_bound():
    A = np.array([[0, 1], [1, 0]])
    B = np.array([[0, 5], [5, 0]])
    result = solve(A, B, time_limit=5.0, seed=0)
    assert result.status == "optimal" and result.lower_bound == result.objective == 10
    assert result.gap == 0.0
    problem = load("nug12")
    result = solve(problem, None, time_limit=10.0, target=600, seed=0)
    assert result.objective <= 600 and result.wall_time < 5.0
    assert result.reason == "target objective reached"


def test_partial_match_is_respected():
    problem = load("nug12")
    pm = np.array([[0, 5], [3, 0], [11, 11]])
    for method in METHODS:
        result = solve(problem, None, method=method, max_iter=300, time_limit=None, seed=2, partial_match=pm)
        assert all(result.permutation[i] == k for i, k in pm), method
        assert is_permutation(result.permutation, 12)


def test_P0_is_the_starting_point():
    problem = load("nug12")
    start = np.arange(12)[::-1].copy()
    result = solve(problem, None, method="local_first", time_limit=None, initial=start)
    # One first-improvement descent from the initial solution never ends above its cost.
    assert result.objective <= numpy_objective(problem.A, problem.B, start)
    matrix = np.eye(12, dtype=int)[start]
    again = solve(problem, None, method="local_first", time_limit=None, initial=matrix)
    assert np.array_equal(result.permutation, again.permutation)


def test_maximize_finds_the_enumerated_maximum():
    rng = np.random.default_rng(5)
    A, B = rng.integers(0, 9, (7, 7)), rng.integers(0, 9, (7, 7))
    worst, _ = brute_force(-A, B)
    result = solve(A, B, method="rots", maximize=True, max_iter=3000, time_limit=None, seed=1)
    assert result.objective == -worst
    assert result.lower_bound is None


def test_real_valued_and_huge_integer_data_use_double_kernels():
    rng = np.random.default_rng(0)
    A, B = rng.random((8, 8)), rng.random((8, 8))
    optimum, _ = brute_force(A, B)
    result = solve(A, B, method="rots", max_iter=3000, time_limit=None, seed=0)
    assert np.isclose(result.objective, optimum)
    big = np.full((4, 4), 2**40)  # 4 n^2 max|A| max|B| overflows int64: double kernel
    result = solve(big, big, method="rots", max_iter=100, time_limit=None, seed=0)
    assert result.objective == pytest.approx(16 * 2.0**80)


def test_threads_run_independent_restarts():
    problem = generate.taillard_a(30, seed=2)
    one = solve(problem, None, method="rots", max_iter=400, time_limit=None, threads=1, seed=3)
    two = solve(problem, None, method="rots", max_iter=400, time_limit=None, threads=2, seed=3)
    assert is_permutation(two.permutation, 30)
    assert two.objective == numpy_objective(problem.A, problem.B, two.permutation)
    assert two.iterations == 2 * one.iterations == 800  # the cap is per run
    # Run 0 of the pool is the single-thread run (same derived seed), so the best of two is no worse.
    assert two.objective <= one.objective


def test_callback_receives_improvements_and_can_stop_the_solve():
    problem = generate.taillard_a(40, seed=1)
    seen = []

    def callback(best, elapsed):
        seen.append((best, elapsed))
        return elapsed > 0.2

    result = solve(problem, None, time_limit=30.0, seed=0, progress=callback)
    assert result.status == "cancelled"
    assert result.wall_time < 5.0
    assert seen and [b for b, _ in seen] == sorted((b for b, _ in seen), reverse=True)
    assert seen[-1][0] >= result.objective


def test_callback_exception_propagates_with_its_traceback():
    class Boom(RuntimeError):
        pass

    def callback(best, elapsed):
        raise Boom("from the callback")

    with pytest.raises(Boom, match="from the callback"):
        solve(load("nug12"), None, time_limit=5.0, seed=0, progress=callback)


def test_ctrl_c_cancels_and_returns_a_valid_best_so_far():
    problem = generate.taillard_a(80, seed=3)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    started = time.perf_counter()
    result = solve(problem, None, time_limit=60.0, seed=0)
    assert time.perf_counter() - started < 10.0
    assert result.status == "cancelled"
    assert is_permutation(result.permutation, 80)
    assert result.objective == numpy_objective(problem.A, problem.B, result.permutation)


def test_shipped_instances_reach_their_best_known_value():
    for name in ("nug12", "chr12a", "had12", "rou12", "tai12a", "scr12"):
        problem = load(name)
        result = solve(problem, None, time_limit=10.0, seed=0, target=problem.best_known)
        assert result.objective == problem.best_known, name


def test_ctrl_c_in_islands_mode_returns_the_best_within_a_fraction_of_a_round():
    problem = generate.taillard_a(60, seed=4)
    timer = threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    started = time.perf_counter()
    result = solve(problem, None, mode="islands", time_limit=60.0, seed=0)  # 6 rounds of 10 s
    assert time.perf_counter() - started < 4.0  # not the 10 s the round would have run on
    assert result.status == "cancelled"
    assert is_permutation(result.permutation, 60)
    assert result.objective == numpy_objective(problem.A, problem.B, result.permutation)


@pytest.mark.parametrize("stop", [True, "yes", 1, object()])
def test_a_stop_without_is_set_is_refused_naming_stop(stop):
    with pytest.raises(InvalidParameterError, match="stop must be None or have an is_set"):
        solve(load("nug12"), None, time_limit=5.0, seed=0, stop=stop)


@needs("flows")
@pytest.mark.parametrize("stop", [True, "yes", 1, object()])
def test_a_stop_without_is_set_is_refused_by_a_registered_flow_solver(stop):
    with pytest.raises(InvalidParameterError, match="stop must be None or have an is_set"):
        registry.get("allocflow.highs").solve({"items": [{"id": "a", "cost": {"m": 1.0}, "value": 1.0}],
                                               "budgets": {"m": 1.0}}, time_limit=1.0, stop=stop)


class _BrokenStop:
    def is_set(self):
        raise RuntimeError("the stop's source is gone")


@pytest.mark.parametrize("name", ["qap.rots", "qapflow.islands", "evo.ga@qap",
                                  pytest.param("workflow.schedule", marks=needs("flows")),
                                  pytest.param("allocflow.highs", marks=needs("flows"))])
def test_a_stop_whose_is_set_raises_stops_the_solve_and_names_stop(name):
    _, large = instances(registry.get(name).problem_type)
    started = time.perf_counter()
    with pytest.raises(InvalidParameterError, match=r"stop.is_set\(\) raised RuntimeError: the stop's source is gone"):
        registry.get(name).solve(large, time_limit=30.0, seed=0, stop=_BrokenStop())
    assert time.perf_counter() - started < 3.0  # stopped at once, not run on to its limit


@pytest.mark.parametrize("method", ["rots", "anneal", "faq", "breakout"])
@pytest.mark.parametrize("time_limit", [1e10, 1e300])
def test_a_budget_past_the_clocks_range_runs_until_stopped(method, time_limit):
    problem = generate.taillard_a(30, seed=2)
    stop = threading.Event()
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    started = time.perf_counter()
    result = solve(problem, None, method=method, time_limit=time_limit, seed=0, stop=stop)
    assert 0.15 < time.perf_counter() - started < 2.0  # it searched (no deadline in the past), and stopped on request
    assert result.status == "cancelled" and result.iterations > 0
