"""Instance generators."""

import numpy as np
import pytest

from mezan.errors import InvalidParameterError
from mezan.qap import generate, solve

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
