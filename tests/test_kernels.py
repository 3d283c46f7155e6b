"""C++ kernels against recomputation: objective, swap delta, delta table updates, LAP, GLB."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezan import _core
from mezan.errors import InvalidProblemError

from conftest import brute_force, numpy_objective, qap_instances

SUFFIX = {np.int64: "i64", np.float64: "f64"}


def instances(min_n=2, max_n=9):
    """The shared QAP strategy as (A, B, dtype, rng): int64 or float64 data, symmetric or not."""
    return qap_instances(min_n, max_n).map(
        lambda i: (i[0].astype(DTYPES[i[2]]), i[1].astype(DTYPES[i[2]]), DTYPES[i[2]], i[4]))


DTYPES = {"int": np.int64, "real": np.float64}


def call(name, dtype, *args):
    module = _core._testing if name == "delta_table_after_swaps" else _core  # a test hook
    return getattr(module, f"{name}_{SUFFIX[dtype]}")(*args)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_objective_and_swap_delta_match_recomputation(inst):
    A, B, dtype, rng = inst
    n = len(A)
    p = rng.permutation(n).astype(np.int32)
    f = numpy_objective(A, B, p)
    assert np.isclose(call("objective", dtype, A, B, p), f, rtol=1e-12, atol=1e-9)
    for r, s in itertools.combinations(range(n), 2):
        q = p.copy()
        q[[r, s]] = q[[s, r]]
        expected = numpy_objective(A, B, q) - f
        got = call("swap_delta", dtype, A, B, p, r, s)
        if dtype is np.int64:
            assert got == expected, (r, s)
        else:
            assert np.isclose(got, expected, rtol=1e-9, atol=1e-8), (r, s)


@settings(max_examples=150, deadline=None)
@given(instances(min_n=3), st.data())
def test_delta_table_stays_exact_after_moves(inst, data):
    """Taillard's O(1) update (general and symmetric) equals a fresh O(n) recomputation."""
    A, B, dtype, rng = inst
    n = len(A)
    fixed = np.full(n, -1, dtype=np.int32)
    if data.draw(st.booleans(), label="with fixed facilities") and n >= 4:
        fixed[0] = 0  # facility 0 stays at location 0
    p = rng.permutation(n).astype(np.int32)
    if fixed[0] == 0:
        p[p == 0], p[0] = p[0], 0
    movable = np.nonzero(fixed < 0)[0]
    m = len(movable)
    k = data.draw(st.integers(1, 12), label="moves")
    swaps = []
    for _ in range(k):
        a, b = sorted(rng.choice(m, 2, replace=False))
        swaps.append((int(a), int(b)))
    table = call("delta_table_after_swaps", dtype, A, B, p, swaps, fixed)
    q = p.copy()
    for a, b in swaps:
        r, s = movable[a], movable[b]
        q[[r, s]] = q[[s, r]]
    for a, b in itertools.combinations(range(m), 2):
        expected = call("swap_delta", dtype, A, B, q, int(movable[a]), int(movable[b]))
        if dtype is np.int64:
            assert table[a, b] == expected
        else:
            assert np.isclose(table[a, b], expected, rtol=1e-9, atol=1e-8)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_lap_is_optimal(n, seed):
    rng = np.random.default_rng(seed)
    C = rng.integers(-5, 30, (n, n)).astype(float)
    assignment, cost = _core.solve_lap(C)
    assert sorted(assignment) == list(range(n))
    assert cost == C[np.arange(n), assignment].sum()
    best = min(C[np.arange(n), list(q)].sum() for q in itertools.permutations(range(n)))
    assert cost == best


@pytest.mark.parametrize(("n", "seed"), [(1, 0), (2, 1), (5, 2), (9, 3), (30, 4)])
def test_lap_duals_certify_the_optimum(n, seed):
    # Branch and bound prunes a child f -> l when its parent's bound plus the reduced cost of (f, l) reaches the
    # incumbent: that needs dual feasibility (no negative reduced cost), complementary slackness on the assignment,
    # and duals that sum to the cost.
    rng = np.random.default_rng(seed)
    C = rng.integers(-5, 30, (n, n)).astype(float)
    assignment, cost, u, v = _core._testing.lap_duals(C)
    reduced = C - u[:, None] - v[None, :]
    assert reduced.min() >= -1e-9
    assert np.abs(reduced[np.arange(n), assignment]).max() <= 1e-9
    assert u.sum() + v.sum() == pytest.approx(cost, abs=1e-9) and cost == C[np.arange(n), assignment].sum()


def test_lap_buffers_kept_across_sizes_give_what_fresh_ones_give():
    # branch and bound's nodes and FAQ's steps solve LAP after LAP in one workspace: sizes that grow and shrink, and a
    # refused matrix in between, must leave nothing behind
    rng = np.random.default_rng(7)
    sizes = [7, 2, 1, 9, 3, 5]
    costs = [rng.integers(-5, 30, (n, n)).astype(float) for n in sizes]
    bad = np.ones((4, 4))
    bad[2, 1] = np.nan
    solved = _core._testing.lap_sequence([*costs[:3], bad, *costs[3:]])
    assert solved[3] is None
    for C, got in zip(costs, solved[:3] + solved[4:], strict=True):
        fresh = _core._testing.lap_duals(C)
        assert np.array_equal(got[0], fresh[0]) and got[1] == fresh[1]
        assert np.array_equal(got[2], fresh[2]) and np.array_equal(got[3], fresh[3])


def test_lap_rejects_non_finite_costs():
    C = np.ones((3, 3))
    C[1, 2] = np.inf
    with pytest.raises(InvalidProblemError) as excinfo:
        _core.solve_lap(C)
    assert "cost[1][2]" in str(excinfo.value)


@settings(max_examples=60, deadline=None)
@given(instances(min_n=2, max_n=7))
def test_gilmore_lawler_bound_never_exceeds_the_optimum(inst):
    A, B, dtype, _ = inst
    optimum, _ = brute_force(A, B)
    bound = call("gilmore_lawler_bound", dtype, A, B)
    assert bound <= optimum + 1e-6 * max(1.0, abs(optimum))
