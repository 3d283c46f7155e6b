"""QAPFlow modes: valid results within the time limit, determinism, the result says what ran."""

import numpy as np
import pytest

from mezan.errors import InvalidParameterError
from mezan.qap import MODES, generate, load, solve
from mezan.qap.solve import auto_method

from conftest import numpy_objective


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("problem", [generate.taillard_a(40, seed=1), load("nug20"), generate.grid_manhattan(5, 6, 2)],
                         ids=["taillard40", "nug20", "grid5x6"])
def test_modes_return_valid_permutations_within_the_time_limit(mode, problem):
    result = solve(problem, None, mode=mode, time_limit=0.5, seed=3)
    assert sorted(result.permutation.tolist()) == list(range(problem.n))
    assert result.objective == numpy_objective(problem.A, problem.B, result.permutation)
    assert result.wall_time < 0.5 + 0.5
    expected = auto_method(problem.n, 0.5)[0] if mode == "auto" else MODES[mode]
    assert result.mode == mode and result.method == expected and result.explanation
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


def test_auto_policy_by_size_and_budget():
    assert auto_method(12, 10.0)[0] == "bnb"
    assert auto_method(25, 10.0)[0] == "rots"
    assert auto_method(60, 10.0)[0] == "memetic"
    assert auto_method(400, 0.5)[0] == "hybrid"  # 5 table initialisations take ~0.64 s
    assert auto_method(400, 60.0)[0] == "memetic"
    result = solve(load("nug12"), None, mode="auto", time_limit=10.0, seed=0)
    assert result.method == "bnb" and result.status == "optimal" and result.objective == 578
    assert result.bound_method == "branch_and_bound" and result.lower_bound == 578
    assert "exact branch and bound" in result.explanation


def test_unknown_mode_is_refused():
    with pytest.raises(InvalidParameterError, match="mode must be one of hybrid, nesterov, aggressive, enhanced, auto"):
        solve(load("nug12"), None, mode="turbo")
