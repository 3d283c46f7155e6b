"""QAPFlow modes: valid results within the time limit, determinism, the result says what ran."""

import numpy as np
import pytest

from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.qap import MODES, generate, load, solve
from mezan.qap.features import adaptive_method, detect_structure, features, is_dense
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
    both_dense = is_dense(problem.A) and is_dense(problem.B)
    expected = {"auto": auto_method(problem.n, 0.5, both_dense=both_dense)[0],
                "islands": auto_method(problem.n, 0.5)[0],  # one round, without the dense-data rule
                "instance_adaptive": adaptive_method(features(problem))[0]}.get(mode, MODES[mode])
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
    assert auto_method(60, 10.0)[0] == "balance"
    assert auto_method(1000, 1.0)[0] == "hybrid"  # 5 table initialisations take ~3 s at n = 1,000
    assert auto_method(1000, 1.0, ("dense", "grid_manhattan"))[0] == "fft"
    assert auto_method(1000, 60.0, ("dense", "grid_manhattan"))[0] == "balance"
    assert auto_method(1000, 60.0)[0] == "balance"
    assert auto_method(60, 10.0, both_dense=True)[0] == "memetic"
    assert auto_method(25, 10.0, both_dense=True)[0] == "rots"  # the size rules come first
    assert auto_method(1000, 1.0, both_dense=True)[0] == "hybrid"
    # memetic only when the budget covers a few builds of its population (~1e-6 n^3 s each)
    assert auto_method(500, 60.0, both_dense=True)[0] == "balance"
    assert auto_method(500, 600.0, both_dense=True)[0] == "memetic"
    assert auto_method(150, 30.0, both_dense=True)[0] == "memetic"
    assert auto_method(1000, None, both_dense=True)[0] == "memetic"
    result = solve(load("nug12"), None, mode="auto", time_limit=10.0, seed=0)
    assert result.method == "bnb" and result.status == "optimal" and result.objective == 578
    assert result.bound_method == "branch_and_bound" and result.lower_bound == 578
    assert "exact branch and bound" in result.explanation


def test_auto_reads_whether_both_matrices_are_dense():
    dense, sparse = generate.taillard_a(40, seed=1), generate.taillard_b(40, seed=1)
    assert is_dense(dense.A) and is_dense(dense.B)
    assert not (is_dense(sparse.A) and is_dense(sparse.B))
    M = np.ones((20, 20))
    M[0, 1:] = 0  # 19 of 380 off-diagonal entries zero: 95 % non-zero, still dense
    assert is_dense(M)
    M[1, 2] = 0  # one more: below 95 %
    assert not is_dense(M)
    assert is_dense(np.ones((20, 20)) - np.eye(20))  # the diagonal does not count
    with pytest.raises(InvalidProblemError, match=r"square matrix, got shape \(3, 4\)"):
        is_dense(np.ones((3, 4)))
    for problem, method in ((dense, "memetic"), (sparse, "balance")):
        result = solve(problem, None, mode="auto", max_iter=2000, time_limit=None, seed=0)
        assert result.method == method
        assert ("both matrices dense" in result.explanation) == (method == "memetic")


@pytest.mark.parametrize("mode", ["auto", "enhanced"])
def test_the_memetic_search_starts_from_the_callers_solution(mode):
    problem = generate.taillard_a(40, seed=3)
    start = solve(problem, None, method="rots", max_iter=4000, time_limit=None, seed=1)
    result = solve(problem, None, mode=mode, max_iter=50, time_limit=None, seed=2, initial=start.permutation)
    assert result.method == "memetic"
    assert result.objective <= start.objective  # 50 iterations from random starts end far above it
    random_only = solve(problem, None, mode=mode, max_iter=50, time_limit=None, seed=2)
    assert random_only.objective > start.objective


def test_auto_is_the_default_and_method_or_mode_not_both():
    result = solve(load("nug12"), None, time_limit=5.0, seed=0)
    assert result.mode == "auto" and result.method == "bnb" and result.status == "optimal"
    assert solve(load("nug12"), None, method="rots", max_iter=50, time_limit=None, seed=0).mode is None
    with pytest.raises(InvalidParameterError, match="not both"):
        solve(load("nug12"), None, method="rots", mode="auto")


def test_unknown_mode_is_refused():
    modes = "hybrid, nesterov, fft, aggressive, enhanced, balance, portfolio, instance_adaptive, auto"
    with pytest.raises(InvalidParameterError, match=f"mode must be one of {modes}"):
        solve(load("nug12"), None, mode="turbo")


def test_structure_detection():
    n = 12
    c = np.arange(n, dtype=float)
    i, j = np.indices((n, n))
    assert detect_structure(c[(j - i) % n]) == "circulant"
    assert detect_structure(np.abs(i - j) * 3.0 + (i < j)) == "toeplitz"
    assert detect_structure(generate.grid_manhattan(3, 4, seed=0).B) == "grid_manhattan"
    y, x = np.divmod(np.arange(12), 4)
    assert detect_structure(2.5 * np.hypot(y[:, None] - y, x[:, None] - x)) == "grid_euclidean"
    assert detect_structure(generate.taillard_a(12, seed=0).A) == "dense"


def test_instance_adaptive_rules():
    uniform = features(generate.taillard_a(30, seed=1))
    assert adaptive_method(uniform)[0] == "hybrid"
    grid = features(generate.grid_manhattan(5, 6, seed=1))
    assert grid["structure_B"] == "grid_manhattan" and adaptive_method(grid)[0] == "memetic"
    assert adaptive_method(features(load("nug12")))[0] == "bnb"
    result = solve(load("nug20"), None, mode="instance_adaptive", time_limit=2.0, seed=0, target=2570)
    assert result.method == "memetic" and "instance_adaptive" in result.explanation and result.objective == 2570


def test_islands_report_an_integer_objective_on_integer_data_as_every_mode_does():
    from mezan.dist import LocalExecutor

    problem = load("nug12")
    with LocalExecutor(2) as executor:
        islands = solve(problem, None, mode="islands", max_iter=200, time_limit=None, seed=1, executor=executor)
    single = solve(problem, None, method="rots", max_iter=200, time_limit=None, seed=1)
    assert type(islands.objective) is type(single.objective) is int
