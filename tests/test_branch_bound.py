"""Exact branch and bound (method="bnb") against enumeration and the QAPLIB optima."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezan.qap import generate, read_qaplib, solve

from conftest import SHARED, brute_force, numpy_objective, qap_instances, shared_names


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(qap_instances(2, 9, low=-5, high=30), st.booleans())
def test_bnb_agrees_with_enumeration(inst, with_partial_match):
    A, B, *_ = inst
    n = len(A)
    pm = np.array([[n - 1, 0]]) if with_partial_match else None
    best, _ = brute_force(A, B, fixed=[(n - 1, 0)] if with_partial_match else None)  # constrained: n-1 at 0
    result = solve(A, B, method="bnb", time_limit=30.0, seed=0, partial_match=pm)
    assert result.status == "optimal"
    assert np.isclose(result.objective, best) and np.isclose(result.lower_bound, result.objective)
    assert np.isclose(numpy_objective(A, B, result.permutation), result.objective)
    if with_partial_match:
        assert result.permutation[n - 1] == 0


def test_bnb_proves_the_lipa_optimum_and_stops_on_its_node_cap():
    problem, _, value = generate.lipa(12, seed=4)
    result = solve(problem, None, method="bnb", time_limit=30.0, seed=0)
    assert result.status == "optimal" and result.objective == value
    capped = solve(generate.taillard_a(16, seed=1), None, method="bnb", max_iter=50, time_limit=30.0, seed=0)
    assert capped.status == "feasible" and capped.lower_bound < capped.objective
    assert sorted(capped.permutation.tolist()) == list(range(16))


@pytest.mark.slow
@pytest.mark.parametrize("name", shared_names(max_n=15))
def test_bnb_proves_the_best_known_values_up_to_n_15(name):
    problem = read_qaplib(SHARED / f"{name}.dat")
    result = solve(problem, None, method="bnb", time_limit=120.0, seed=0)
    assert result.status == "optimal", f"{name}: not proven in {result.wall_time:.1f}s"
    assert result.objective == problem.best_known == result.lower_bound
