"""Instance generators."""

import numpy as np
import pytest

from mezan.errors import InvalidParameterError
from mezan.meta import features
from mezan.qap import generate, solve
from mezan.qap.features import detect_structure

from conftest import brute_force, numpy_objective


def test_taillard_a_is_symmetric_uniform_and_seeded():
    p = generate.taillard_a(30, seed=1)
    assert p.n == 30 and np.array_equal(p.A, p.A.T) and np.array_equal(p.B, p.B.T)
    assert p.A.min() >= 0 and p.A.max() <= 99 and np.all(np.diag(p.A) == 0)
    assert np.array_equal(p.A, generate.taillard_a(30, seed=1).A)
    assert not np.array_equal(p.A, generate.taillard_a(30, seed=2).A)


def test_grid_manhattan_distances():
    p = generate.grid_manhattan(3, 4, seed=0)
    assert p.n == 12
    # cell 0 = (0,0), cell 11 = (2,3): distance 5
    assert p.B[0, 11] == 5 and p.B[1, 4] == 2 and np.array_equal(p.B, p.B.T)
    assert np.array_equal(p.A, p.A.T) and p.A.max() <= 9


def test_ring_circulant_is_circulant_on_a_ring():
    p = generate.ring_circulant(12, seed=3)
    assert p.B[0, 6] == 6 and p.B[0, 7] == 5 and p.B[2, 11] == 3 and np.all(np.diag(p.B) == 0)
    for i in range(12):  # A[i, j] depends on (j - i) mod n only, and A is symmetric
        assert np.array_equal(np.roll(p.A[0], i), p.A[i])
    assert np.array_equal(p.A, p.A.T) and np.all(np.diag(p.A) == 0) and p.A.max() <= 18
    assert detect_structure(p.A) == "circulant" and detect_structure(p.B) == "circulant"
    assert np.array_equal(p.A, generate.ring_circulant(12, seed=3).A)


def test_taillard_b_is_sparse_heavy_tailed_and_euclidean():
    p = generate.taillard_b(60, seed=1)
    assert np.array_equal(p.A, p.A.T) and np.array_equal(p.B, p.B.T)
    assert np.all(np.diag(p.A) == 0) and np.all(np.diag(p.B) == 0)
    nonzero = p.A[np.triu_indices(60, 1)] > 0
    assert 0.2 < nonzero.mean() < 0.4 and p.A.max() < 1000
    # rounded Euclidean distances satisfy the triangle inequality up to rounding
    B = p.B.astype(float)
    assert np.all(B[:, None, :] <= B[:, :, None] + B[None, :, :] + 1)  # d(i, k) <= d(i, j) + d(j, k)
    assert features(p)["flow_dominance"] > features(generate.taillard_a(60, seed=1))["flow_dominance"]


@pytest.mark.parametrize("seed", range(6))
def test_lipa_optimum_is_the_enumerated_optimum(seed):
    problem, perm, value = generate.lipa(7, seed=seed)
    assert numpy_objective(problem.A, problem.B, perm) == value == problem.best_known
    optimum, _ = brute_force(problem.A, problem.B)
    assert optimum == value


def test_lipa_optimum_cannot_be_beaten_at_larger_n():
    problem, perm, value = generate.lipa(40, seed=3)
    assert numpy_objective(problem.A, problem.B, perm) == value
    result = solve(problem, None, time_limit=1.0, seed=0)
    assert result.objective >= value


def test_generator_arguments_are_checked():
    with pytest.raises(InvalidParameterError, match="n must be an integer >= 2"):
        generate.taillard_a(1)
    with pytest.raises(InvalidParameterError, match="density must lie in"):
        generate.grid_manhattan(3, 3, density=0)
    with pytest.raises(InvalidParameterError, match="rows must be an integer"):
        generate.grid_manhattan("3", 3)
    with pytest.raises(InvalidParameterError, match="density must lie in"):
        generate.ring_circulant(10, density=1.5)
    with pytest.raises(InvalidParameterError, match="n must be an integer >= 2"):
        generate.taillard_b(1)
