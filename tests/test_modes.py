"""QAPFlow modes: valid results within the time limit, determinism, the result says what ran."""

import numpy as np
import pytest

from mezan.errors import InvalidParameterError
from mezan.qap import MODES, generate, load, solve

from conftest import numpy_objective


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("problem", [generate.taillard_a(40, seed=1), load("nug20"), generate.grid_manhattan(5, 6, 2)],
                         ids=["taillard40", "nug20", "grid5x6"])
def test_modes_return_valid_permutations_within_the_time_limit(mode, problem):
    result = solve(problem, None, mode=mode, time_limit=0.5, seed=3)
    assert sorted(result.permutation.tolist()) == list(range(problem.n))
    assert result.objective == numpy_objective(problem.A, problem.B, result.permutation)
    assert result.wall_time < 0.5 + 0.5
    assert result.mode == mode and result.method == MODES[mode]
    assert result.to_dict()["mode"] == mode
    assert result.lower_bound <= result.objective


@pytest.mark.parametrize("mode", MODES)
def test_modes_are_deterministic_with_a_seed_and_one_thread(mode):
    problem = generate.taillard_a(20, seed=5)
    runs = [solve(problem, None, mode=mode, max_iter=6000, time_limit=None, seed=9) for _ in range(2)]
    assert np.array_equal(runs[0].permutation, runs[1].permutation) and runs[0].iterations == runs[1].iterations


def test_enhanced_and_aggressive_reach_the_optimum_of_small_instances():
    problem = load("nug20")
    for mode in ("enhanced", "aggressive"):
        result = solve(problem, None, mode=mode, time_limit=10.0, seed=1, target=2570, threads=2)
        assert result.objective == 2570, mode


def test_unknown_mode_is_refused():
    with pytest.raises(InvalidParameterError, match="mode must be one of hybrid, aggressive, enhanced"):
        solve(load("nug12"), None, mode="turbo")
