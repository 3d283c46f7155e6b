"""Robust tabu search makes the reference's moves: the same swaps in the same order, the same costs.

RobustTabu (cpp/include/mezan/qap/tabu.hpp) computes its iterations with a permuted-distance delta table,
32-bit lanes for integer data that allow them, a branch-free scan and AVX2 copies of the hot loops;
ReferenceRobustTabu (reference_tabu.hpp) is the plain first version (DeltaTable + swap_delta + a scalar
scan). Both run side by side through mezan._core._testing for a few thousand iterations from the same
start and seed; every move, every cost (exactly, floats bit for bit) and the final state must agree, on
symmetric and asymmetric, integer and real data, several n, with and without fixed facilities, in every
kernel variant (32-bit / 64-bit lanes, AVX2 / plain, a tabu clock rebased every few iterations).
"""

import numpy as np
import pytest

from mezan import _core

T = _core._testing


def instance(n, symmetric, kind, seed):
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 100, (n, n))
    B = rng.integers(0, 100, (n, n))
    A[rng.random((n, n)) < 0.3] = 0  # some structure: sparse flows, repeated values, ties among deltas
    if symmetric:
        A, B = np.triu(A, 1) + np.triu(A, 1).T, np.triu(B, 1) + np.triu(B, 1).T
    if kind == "int":
        return A.astype(np.int64), B.astype(np.int64)
    if kind == "int-large":  # deltas beyond 2^28: the 64-bit integer lanes
        return (A * 10_000_019).astype(np.int64), B.astype(np.int64)
    return A * 0.37 + rng.random((n, n)) * (A > 0), B * 1.3  # real: rounding in every sum


def trajectory(A, B, p, seed, iterations, reference, **options):
    fn = T.rots_trajectory_i64 if A.dtype == np.int64 else T.rots_trajectory_f64
    return fn(A, B, p, seed, iterations, reference=reference, **options)


def assert_same(got, ref):
    np.testing.assert_array_equal(got["moves"], ref["moves"])
    # bit for bit: compare the bytes, not the values
    assert got["costs"].tobytes() == ref["costs"].tobytes()
    np.testing.assert_array_equal(got["current"], ref["current"])
    np.testing.assert_array_equal(got["best"], ref["best"])
    assert got["best_cost"] == ref["best_cost"]


CASES = [(n, symmetric, kind) for n in (7, 30, 100) for symmetric in (True, False)
         for kind in ("int", "int-large", "real")]


@pytest.mark.parametrize(("n", "symmetric", "kind"), CASES)
@pytest.mark.parametrize("fixed", [False, True], ids=["all-movable", "fixed"])
def test_rots_makes_the_reference_moves(n, symmetric, kind, fixed):
    A, B = instance(n, symmetric, kind, seed=n)
    rng = np.random.default_rng(n + 1)
    p = rng.permutation(n).astype(np.int32)
    options = {}
    if fixed:
        fx = np.full(n, -1, dtype=np.int32)
        for f in rng.choice(n, max(1, n // 5), replace=False):  # these facilities stay where p puts them
            fx[f] = p[f]
        options["fixed"] = fx
    iterations = {7: 3000, 30: 3000, 100: 1500}[n]
    # a short aspiration so that aspiration by age happens within the run, a long tenure so that every
    # move is sometimes tabu (the fallback rule)
    options["aspiration"] = 20.0 * n
    options["tenure_max"] = 12.0 * n
    ref = trajectory(A, B, p, 5, iterations, reference=True, **options)
    got = trajectory(A, B, p, 5, iterations, reference=False, **options)
    expected_lanes = {"int": "int32", "int-large": "int64", "real": "double"}[kind]
    assert got["kernel"].startswith(expected_lanes)
    assert_same(got, ref)
    if fixed:
        moved = np.unique(ref["moves"])
        assert not np.isin(np.nonzero(options["fixed"] >= 0)[0], moved).any()


@pytest.mark.parametrize("kind", ["int", "int-large", "real"])
@pytest.mark.parametrize("symmetric", [True, False])
def test_every_kernel_variant_makes_the_reference_moves(kind, symmetric):
    """Plain (no AVX2) copies, 64-bit lanes for small integers, a tabu clock rebased every 7 iterations."""
    n = 40
    A, B = instance(n, symmetric, kind, seed=3)
    p = np.random.default_rng(4).permutation(n).astype(np.int32)
    options = {"aspiration": 10.0 * n}
    ref = trajectory(A, B, p, 11, 2500, reference=True, **options)
    variants = [dict(simd=False), dict(narrow=False), dict(clock_period=7), dict(simd=False, clock_period=3)]
    if T.cpu_has_avx2():
        variants.append(dict(simd=True))
    for variant in variants:
        got = trajectory(A, B, p, 11, 2500, reference=False, **options, **variant)
        if variant.get("simd") is False:
            assert "avx2" not in got["kernel"]
        assert_same(got, ref)


@pytest.mark.parametrize("kind", ["int", "real"])
def test_default_options_long_run(kind):
    """Taillard's default tenure and aspiration (5 n^2), long enough for aspiration by age at n = 12."""
    n = 12
    A, B = instance(n, False, kind, seed=9)
    p = np.arange(n, dtype=np.int32)
    ref = trajectory(A, B, p, 2, 4000, reference=True)
    got = trajectory(A, B, p, 2, 4000, reference=False)
    assert_same(got, ref)


def test_costs_are_the_objective_of_the_moves():
    """The recorded trajectory is a real one: each cost is the objective after that move."""
    A, B = instance(20, False, "int", seed=1)
    p = np.random.default_rng(2).permutation(20).astype(np.int32)
    got = trajectory(A, B, p, 1, 300, reference=False)
    q = p.copy()
    for (r, s), cost in zip(got["moves"], got["costs"], strict=True):
        q[[r, s]] = q[[s, r]]
        assert cost == int((A * B[np.ix_(q, q)]).sum())
