"""quadratic_assignment is a drop-in for scipy.optimize.quadratic_assignment."""

import numpy as np
import pytest

from mezan.errors import InvalidParameterError, PartialMatchError
from mezan.qap import OptimizeResult, quadratic_assignment

from conftest import brute_force, numpy_objective

scipy_optimize = pytest.importorskip("scipy.optimize")

# The example of scipy.optimize.quadratic_assignment's documentation.
A = np.array([[0, 80, 150, 170], [80, 0, 130, 100], [150, 130, 0, 120], [170, 100, 120, 0]])
B = np.array([[0, 5, 2, 7], [0, 0, 3, 8], [0, 0, 0, 3], [0, 0, 0, 0]])


def test_documented_example_faq_matches_scipy_exactly():
    ours = quadratic_assignment(A, B, method="faq")
    theirs = scipy_optimize.quadratic_assignment(A, B, method="faq", options={"rng": np.random.default_rng(0)})
    assert isinstance(ours, OptimizeResult)
    assert np.array_equal(ours.col_ind, theirs.col_ind) and ours.col_ind.tolist() == [0, 3, 2, 1]
    assert ours.fun == theirs.fun == 3260
    assert ours.nit == theirs.nit
    assert ours["fun"] == ours.fun  # both access styles, as OptimizeResult


def test_documented_example_default_and_2opt_reach_the_optimum():
    optimum, _ = brute_force(A, B)
    res = quadratic_assignment(A, B)  # rots
    assert res.fun == optimum == numpy_objective(A, B, res.col_ind)
    guess = np.array([np.arange(len(A)), res.col_ind]).T
    res2 = quadratic_assignment(A, B, method="2opt", options={"partial_guess": guess})
    assert res2.fun == optimum and np.array_equal(res2.col_ind, res.col_ind)


def test_graph_matching_example_recovers_the_permutation():
    # scipy's second documented use: match a graph to a permuted copy of itself (maximize).
    rng = np.random.default_rng(0)
    n = 12
    G1 = np.triu(rng.random((n, n)) < 0.3, 1).astype(int)
    G1 = G1 + G1.T
    perm = rng.permutation(n)
    G2 = G1[np.ix_(perm, perm)]
    for method in ("rots", "faq"):
        res = quadratic_assignment(G1, G2, method=method, options={"maximize": True, "rng": 1})
        assert res.fun == numpy_objective(G1, G1, np.arange(n)), method  # all edges matched


@pytest.mark.parametrize("method", ["faq", "2opt", "rots", "anneal", "local"])
def test_objective_never_worse_than_scipy_on_small_instances(method):
    rng = np.random.default_rng(3)
    worse = 0
    for _ in range(5):
        X, Y = rng.integers(0, 30, (9, 9)), rng.integers(0, 30, (9, 9))
        ours = quadratic_assignment(X, Y, method=method, options={"rng": 0})
        assert ours.fun == numpy_objective(X, Y, ours.col_ind)
        assert sorted(ours.col_ind.tolist()) == list(range(9))
        if method in ("rots", "anneal", "local"):
            theirs = scipy_optimize.quadratic_assignment(X, Y, method="2opt", options={"rng": np.random.default_rng(0)})
            worse += ours.fun > theirs.fun
    assert worse == 0


def test_partial_match_and_maximize_options():
    pm = np.array([[0, 1], [2, 3]])
    for method in ("faq", "2opt", "rots"):
        res = quadratic_assignment(A, B, method=method, options={"partial_match": pm, "maximize": True})
        assert res.col_ind[0] == 1 and res.col_ind[2] == 3
        options = {"partial_match": pm, "maximize": True, "rng": np.random.default_rng(0)}
        theirs = scipy_optimize.quadratic_assignment(A, B, method="faq", options=options)
        if method != "2opt":
            assert res.fun >= theirs.fun


def test_faq_P0_options():
    for P0 in ("barycenter", "randomized", np.full((4, 4), 0.25)):
        res = quadratic_assignment(A, B, method="faq", options={"P0": P0, "rng": 0})
        assert sorted(res.col_ind.tolist()) == [0, 1, 2, 3]
    with pytest.raises(InvalidParameterError, match="doubly stochastic"):
        quadratic_assignment(A, B, method="faq", options={"P0": np.ones((4, 4))})
    with pytest.raises(InvalidParameterError, match=r"shape \(4, 4\)"):
        quadratic_assignment(A, B, method="faq", options={"P0": np.ones((3, 3)) / 3})


def test_option_errors_name_the_option():
    with pytest.raises(InvalidParameterError, match=r"unknown option.*'maxiterr'"):
        quadratic_assignment(A, B, method="faq", options={"maxiterr": 3})
    with pytest.raises(InvalidParameterError, match="method must be one of"):
        quadratic_assignment(A, B, method="bogus")
    with pytest.raises(PartialMatchError, match="location 1 appears more than once"):
        quadratic_assignment(A, B, options={"partial_match": [[0, 1], [2, 1]]})
    with pytest.raises(InvalidParameterError, match=r"maxiter must be an integer in \[1, 2147483647\], got 0"):
        quadratic_assignment(A, B, method="faq", options={"maxiter": 0})
