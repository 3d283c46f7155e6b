"""EvoFlow: operators keep their defining properties; the GA solves small problems exactly."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezan import _core, registry
from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.evo import CROSSOVERS, MUTATIONS, QAP, TSP, LinearOrdering, evolve

from conftest import brute_force


@st.composite
def parents(draw, min_n=2, max_n=40):
    n = draw(st.integers(min_n, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.permutation(n).astype(np.int32), rng.permutation(n).astype(np.int32), draw(st.integers(0, 2**32))


@st.composite
def parents_and_cut(draw):
    """Two parents of length n >= 3 and a cut 0 <= a < b <= n, as OX and PMX take it."""
    p1, p2, _ = draw(parents(min_n=3))
    n = len(p1)
    a = draw(st.integers(0, n - 1))
    return p1, p2, a, draw(st.integers(a + 1, n))


def is_permutation(p, n):
    return sorted(np.asarray(p).tolist()) == list(range(n))


@settings(max_examples=200, deadline=None)
@given(parents(), st.sampled_from(CROSSOVERS))
def test_crossovers_return_permutations(pp, kind):
    p1, p2, seed = pp
    assert is_permutation(_core._testing.evo_crossover(kind, p1, p2, seed), len(p1))


@settings(max_examples=200, deadline=None)
@given(parents(), st.sampled_from(MUTATIONS))
def test_mutations_return_permutations_that_differ_little(pp, kind):
    p, _, seed = pp
    q = _core._testing.evo_mutate(kind, p, seed)
    assert is_permutation(q, len(p))
    if kind == "swap":
        assert (q != p).sum() in (0, 2)


@settings(max_examples=200, deadline=None)
@given(parents_and_cut())
def test_ox_keeps_the_slice_and_the_relative_order_of_the_second_parent(cut):
    p1, p2, a, b = cut
    n = len(p1)
    child = _core._testing.evo_crossover("ox", p1, p2, 0, a, b)
    assert np.array_equal(child[a:b], p1[a:b])
    kept = set(p1[a:b].tolist())
    order_from_b = [int(child[(b + k) % n]) for k in range(n - (b - a))]
    p2_from_b = [int(p2[(b + k) % n]) for k in range(n) if int(p2[(b + k) % n]) not in kept]
    assert order_from_b == p2_from_b


@settings(max_examples=200, deadline=None)
@given(parents_and_cut())
def test_pmx_keeps_the_mapping_section_and_the_unconflicted_genes(cut):
    p1, p2, a, b = cut
    n = len(p1)
    child = _core._testing.evo_crossover("pmx", p1, p2, 0, a, b)
    assert np.array_equal(child[a:b], p1[a:b])
    section = set(p1[a:b].tolist())
    for i in itertools.chain(range(a), range(b, n)):
        if p2[i] not in section:
            assert child[i] == p2[i]
        else:  # mapped: v -> p2[pos_p1(v)] until outside the section
            v = p2[i]
            while v in section:
                v = p2[int(np.nonzero(p1 == v)[0][0])]
            assert child[i] == v


@settings(max_examples=200, deadline=None)
@given(parents())
def test_cx_keeps_cycle_positions(pp):
    p1, p2, _ = pp
    child = _core._testing.evo_crossover("cx", p1, p2)
    assert all(c in (x, y) for c, x, y in zip(child, p1, p2, strict=True))
    # The first cycle (through position 0) comes from p1, whole.
    pos = {int(v): i for i, v in enumerate(p1)}
    i = 0
    while True:
        assert child[i] == p1[i]
        i = pos[int(p2[i])]
        if i == 0:
            break


@settings(max_examples=100, deadline=None)
@given(parents(min_n=3))
def test_uniform_and_position_crossovers_keep_common_genes_or_parent_genes(pp):
    p1, p2, seed = pp
    uni = _core._testing.evo_crossover("uniform", p1, p2, seed)
    assert all(u == x for u, x, y in zip(uni, p1, p2, strict=True) if x == y)
    pos = _core._testing.evo_crossover("position", p1, p2, seed)
    from_p1 = pos == p1
    rest = [int(v) for v in p2 if v not in set(pos[from_p1].tolist())]
    assert pos[~from_p1].tolist() == rest  # the others in p2's order


def tour_length(D, p):
    return sum(D[p[i], p[(i + 1) % len(p)]] for i in range(len(p)))


@pytest.mark.parametrize("seed", range(3))
def test_ga_finds_the_optimal_tour_of_small_instances(seed):
    rng = np.random.default_rng(seed)
    pts = rng.random((8, 2))
    D = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    best = min(tour_length(D, (0, *q)) for q in itertools.permutations(range(1, 8)))
    result = evolve(TSP(D), generations=300, time_limit=None, seed=seed, mutation="inversion")
    assert np.isclose(result.fitness, best) and np.isclose(tour_length(D, result.best), result.fitness)


@pytest.mark.parametrize("seed", range(3))
def test_ga_finds_the_optimum_of_small_qap_and_linear_ordering(seed):
    rng = np.random.default_rng(seed)
    A, B = rng.integers(0, 10, (7, 7)), rng.integers(0, 10, (7, 7))
    optimum, _ = brute_force(A, B)
    result = evolve(QAP(A, B), generations=300, time_limit=None, seed=seed, crossover="uniform")
    assert result.fitness == optimum
    W = rng.integers(0, 10, (7, 7))
    best = min(sum(W[q[j], q[i]] for i in range(7) for j in range(i + 1, 7)) for q in itertools.permutations(range(7)))
    result = evolve(LinearOrdering(W), generations=300, time_limit=None, seed=seed, crossover="pmx")
    assert result.fitness == best


def test_local_searches_never_worsen_and_memetic_runs():
    rng = np.random.default_rng(1)
    pts = rng.random((30, 2))
    D = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    W = rng.integers(0, 20, (30, 30))
    for problem in (TSP(D), LinearOrdering(W), QAP(W, W.T)):
        core = problem.core_objective()
        for _ in range(5):
            p = rng.permutation(30).astype(np.int32)
            q, value = core.improve(p)
            assert is_permutation(q, 30) and value <= core.evaluate(p) + 1e-9
            assert np.isclose(value, core.evaluate(q))
        result = evolve(problem, generations=5, time_limit=None, seed=0, local_search=True)
        assert np.isclose(result.fitness, core.evaluate(result.best.astype(np.int32)))


def test_callable_objective_is_deterministic_with_a_seed_and_matches_the_builtin():
    rng = np.random.default_rng(2)
    pts = rng.random((20, 2))
    # Integer lengths: both sides then sum exactly, so every comparison agrees.
    D = np.round(100 * np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1)))
    calls = []

    def length(p):
        calls.append(1)
        return float(D[p, np.roll(p, -1)].sum())

    runs = [evolve(length, 20, generations=30, time_limit=None, seed=5) for _ in range(2)]
    builtin = evolve(TSP(D), generations=30, time_limit=None, seed=5)
    assert np.array_equal(runs[0].best, runs[1].best) and runs[0].fitness == runs[1].fitness
    assert np.array_equal(runs[0].best, builtin.best) and np.isclose(runs[0].fitness, builtin.fitness)
    assert len(calls) == 2 * runs[0].evaluations == 2 * 64 * 31
    two_threads = evolve(TSP(D), generations=30, time_limit=None, seed=5, threads=2)
    assert np.array_equal(two_threads.best, builtin.best)  # threads never change the result


def test_callable_exception_propagates_with_its_traceback():
    class Boom(ValueError):
        pass

    def bad(p):
        if p[0] == 3:
            raise Boom("objective failed")
        return 0.0

    with pytest.raises(Boom, match="objective failed") as info:
        evolve(bad, 10, time_limit=5.0, seed=0)
    assert any(entry.name == "bad" for entry in info.traceback)


def test_stop_event_and_bad_return_values():
    import threading

    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    W = np.random.default_rng(0).random((30, 30))
    result = evolve(LinearOrdering(W), time_limit=30.0, seed=0, stop=stop)
    assert result.status == "cancelled" and result.wall_time < 5.0 and is_permutation(result.best, 30)
    with pytest.raises(TypeError, match="the objective must return a number, got str"):
        evolve(lambda p: "x", 5, time_limit=1.0, seed=0)


def test_budgets_status_and_trace():
    rng = np.random.default_rng(0)
    W = rng.random((40, 40))
    result = evolve(LinearOrdering(W), time_limit=0.3, seed=0)
    assert result.status == "timeout" and 0.25 < result.wall_time < 2.0
    values = [v for _, v in result.trace]
    assert values == sorted(values, reverse=True) and values[-1] == result.fitness
    capped = evolve(LinearOrdering(W), max_evaluations=1000, time_limit=None, seed=0)
    assert capped.evaluations == 1000 and capped.status == "feasible"


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((lambda p: 0.0,), {}, InvalidParameterError, "n .* is required"),
        ((lambda p: 0.0, 1), {}, InvalidProblemError, "n must be an integer >= 2"),
        (("x",), {}, InvalidParameterError, "objective must be"),
        ((TSP(np.ones((4, 4))),), {"kind": "real"}, InvalidParameterError, "for real vectors use"),
        ((TSP(np.ones((4, 4))),), {"crossover": "bad"}, InvalidParameterError, "crossover must be one of"),
        ((TSP(np.ones((4, 4))),), {"mutation_rate": 2}, InvalidParameterError, r"mutation_rate must lie in \[0, 1\]"),
        ((TSP(np.ones((4, 4))),), {"population": 1}, InvalidParameterError, r"population must be an integer in \[2,"),
        ((TSP(np.ones((4, 4))), 5), {}, InvalidParameterError, "n = 5 does not match"),
        ((lambda p: 0.0, 5), {"local_search": True}, InvalidParameterError, "local_search needs a built-in"),
        ((TSP(np.arange(16.0).reshape(4, 4)),), {"local_search": True}, InvalidParameterError, "symmetric"),
        ((TSP(np.ones((4, 4))),), {"time_limit": None}, InvalidParameterError, "give a finite time_limit"),
        ((TSP(np.ones((4, 4))),), {"max_evaluations": 0}, InvalidParameterError, "max_evaluations must be an integer"),
    ],
)
def test_bad_arguments_raise_clear_errors(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        evolve(*args, **kwargs)


def test_tsp_and_linear_ordering_validate_their_matrices():
    with pytest.raises(InvalidProblemError, match="D must be at least 3x3"):
        TSP(np.ones((2, 2)))
    with pytest.raises(InvalidProblemError, match=r"W has a non-finite value"):
        LinearOrdering(np.array([[0, np.nan], [1, 0]]))


def test_registered_as_solvers_for_each_problem_type():
    names = {s.name for s in registry.solvers()}
    for problem_type in ("qap", "tsp", "linear_ordering", "permutation"):
        assert f"evo.ga@{problem_type}" in names
        assert registry.get(f"evo.ga@{problem_type}").problem_type == problem_type
    rng = np.random.default_rng(0)
    A, B = rng.integers(0, 9, (8, 8)), rng.integers(0, 9, (8, 8))
    for name in ("evo.memetic@qap", "qap.rots"):
        result = registry.get(name).solve(QAP(A, B).problem, time_limit=0.2, seed=1)
        assert result.objective == brute_force(A, B)[0]
    with pytest.raises(InvalidParameterError, match="no solver named 'nope'"):
        registry.get("nope")
