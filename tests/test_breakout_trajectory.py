"""Breakout local search makes the reference's moves on the vectorised delta table.

BreakoutSearch (cpp/include/mezan/qap/breakout.hpp) runs on PermutedDeltaTable, whose entries are DeltaTable's
computed with contiguous loops, and scans the descent's rows as vectorised minima. The same search on the plain
DeltaTable with the plain scalar scan (the reference: the search as it was) must end in the same state after the
same moves from the same start and seed: the same current and best permutations, the same costs (floats bit for bit)
and the same jump magnitude. After thousands of moves of a chaotic search any different choice on the way would
show.
"""

import numpy as np
import pytest

from mezan import _core

T = _core._testing


def instance(n, symmetric, kind, seed):
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 100, (n, n))
    B = rng.integers(0, 100, (n, n))
    A[rng.random((n, n)) < 0.3] = 0  # sparse flows: repeated values and ties among deltas
    if symmetric:
        A, B = np.triu(A, 1) + np.triu(A, 1).T, np.triu(B, 1) + np.triu(B, 1).T
    if kind == "int":
        return A.astype(np.int64), B.astype(np.int64)
    return A * 0.37 + rng.random((n, n)) * (A > 0), B * 1.3  # real: rounding in every sum


@pytest.mark.parametrize("kind", ["int", "real"])
@pytest.mark.parametrize("symmetric", [True, False], ids=["sym", "asym"])
@pytest.mark.parametrize("n", [9, 37, 70])
def test_breakout_on_the_vectorised_table_makes_the_reference_moves(n, symmetric, kind):
    A, B = instance(n, symmetric, kind, seed=n)
    run = T.breakout_trajectory_i64 if kind == "int" else T.breakout_trajectory_f64
    p = np.random.default_rng(n + 1).permutation(n).astype(np.int32)
    for seed in (0, 3):
        got = run(A, B, p, seed, 4000)
        ref = run(A, B, p, seed, 4000, reference=True)
        assert got["moves"] == ref["moves"] >= 4000
        np.testing.assert_array_equal(got["current"], ref["current"])
        np.testing.assert_array_equal(got["best"], ref["best"])
        assert got["cost"] == ref["cost"] and got["best_cost"] == ref["best_cost"] and got["jump"] == ref["jump"]
        assert sorted(got["best"].tolist()) == list(range(n))


@pytest.mark.parametrize("kind", ["int", "real"])
def test_breakout_with_fixed_facilities_makes_the_reference_moves_and_never_moves_them(kind):
    n = 40
    A, B = instance(n, False, kind, seed=5)
    run = T.breakout_trajectory_i64 if kind == "int" else T.breakout_trajectory_f64
    p = np.random.default_rng(6).permutation(n).astype(np.int32)
    fixed = np.full(n, -1, dtype=np.int32)
    fixed[[0, 7, 19]] = p[[0, 7, 19]]  # three facilities pinned where the start puts them
    got = run(A, B, p, 1, 3000, fixed=fixed)
    ref = run(A, B, p, 1, 3000, reference=True, fixed=fixed)
    np.testing.assert_array_equal(got["current"], ref["current"])
    np.testing.assert_array_equal(got["best"], ref["best"])
    assert got["cost"] == ref["cost"] and got["best_cost"] == ref["best_cost"]
    assert (got["best"][[0, 7, 19]] == p[[0, 7, 19]]).all() and (got["current"][[0, 7, 19]] == p[[0, 7, 19]]).all()


def test_breakout_trajectory_refuses_a_bad_start():
    A, B = instance(8, True, "int", seed=1)
    with pytest.raises(Exception, match="p"):
        T.breakout_trajectory_i64(A, B, np.arange(7, dtype=np.int32), 0, 10)
