"""Lower bounds: Gilmore–Lawler and projection bounds never exceed the optimum; the best one is reported."""

import math

import numpy as np
import pytest
from hypothesis import given, settings

from mezan import _core
from mezan.qap import best_lower_bound, gilmore_lawler_bound, load, projection_bound, read_qaplib, solve

from conftest import SHARED, brute_force, qap_instances, shared_names


@settings(max_examples=150, deadline=None)
@given(qap_instances(2, 7, low=-5, high=20, symmetry=("both", "A", "B", "neither")))
def test_projection_bound_never_exceeds_the_optimum(inst):
    A, B, _, which, _ = inst
    optimum, _ = brute_force(A, B)
    bound = projection_bound(A, B)
    if not (np.array_equal(A, A.T) or np.array_equal(B, B.T)):  # "neither" can draw a symmetric one
        assert which == "neither" and bound is None
        return
    assert bound <= optimum + 1e-9 * max(1.0, abs(optimum))
    value, method = best_lower_bound(A, B)
    assert value == max(gilmore_lawler_bound(A, B), bound) and method in ("projection", "gilmore_lawler")
    assert value <= optimum + 1e-9 * max(1.0, abs(optimum))


@pytest.mark.skipif(SHARED is None, reason="../shared/qaplib not present")
@pytest.mark.parametrize("name", shared_names())
def test_no_bound_exceeds_a_best_known_value(name):
    problem = read_qaplib(SHARED / f"{name}.dat")
    value, _ = best_lower_bound(problem)
    assert value <= problem.best_known if problem.best_known is not None else math.isfinite(value)


def test_projection_bound_is_stronger_where_documented():
    nug20 = load("nug20")  # GLB 2057, projection 2196, optimum 2570
    assert projection_bound(nug20) == 2196 and gilmore_lawler_bound(nug20) == 2057
    assert best_lower_bound(nug20) == (2196, "projection")
    chr12a = load("chr12a")  # sparse flows: GLB is the better one
    assert best_lower_bound(chr12a)[1] == "gilmore_lawler"
    result = solve(nug20, None, method="rots", time_limit=0.3, seed=0)
    assert result.lower_bound == 2196 and result.bound_method == "projection"


def test_the_projection_bound_of_a_constant_instance_is_exact():
    # A = J - I, B = anything symmetric with zero diagonal: every permutation costs sum(B).
    n = 9
    A = np.ones((n, n)) - np.eye(n)
    B = np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(float)
    bound = _core.projection_bound(A, B)
    assert bound <= B.sum() and bound == pytest.approx(B.sum(), rel=1e-7)
