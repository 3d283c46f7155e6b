"""Every bad input raises a specific mezan.errors exception naming the argument."""

import subprocess
import sys

import numpy as np
import pytest

import mezan
from mezan.errors import (
    InstanceTooLargeError,
    InvalidParameterError,
    InvalidProblemError,
    MezanError,
    PartialMatchError,
)
from mezan.meta import MetaFlow
from mezan.problems import QAPProblem
from mezan.qap import load, solve
from mezan.qap.solve import check_memory, estimate_memory

OK = np.arange(9).reshape(3, 3)


@pytest.mark.parametrize(
    ("A", "B", "message"),
    [
        (np.ones((3, 4)), OK, r"A must be a square 2-D matrix, got shape \(3, 4\)"),
        (OK, np.ones(3), r"B must be a square 2-D matrix, got shape \(3,\)"),
        (OK, np.ones((4, 4)), r"A and B must have the same shape"),
        (np.array([[np.nan, 1, 2], [0, 0, 0], [0, 0, 0]]), OK, r"A has a non-finite value \(nan\) at \[0, 0\]"),
        (OK, np.array([[0, 1, 2], [0, np.inf, 0], [0, 0, 0]]), r"B has a non-finite value \(inf\) at \[1, 1\]"),
        (np.zeros((0, 0)), np.zeros((0, 0)), "n >= 2"),
        (np.ones((1, 1)), np.ones((1, 1)), r"needs n >= 2\), got n = 1"),
        (np.array([["a", "b"], ["c", "d"]]), np.ones((2, 2)), "A must hold real numbers"),
        ([[1, 2], [3]], np.ones((2, 2)), "A cannot be read as a matrix"),
    ],
)
def test_bad_matrices(A, B, message):
    with pytest.raises(InvalidProblemError, match=message):
        solve(A, B, time_limit=1.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"time_limit": -1.0}, InvalidParameterError, "time_limit must be positive, got -1.0"),
        ({"time_limit": "10"}, InvalidParameterError, "time_limit must be a number"),
        ({"time_limit": None}, InvalidParameterError, "give a finite time_limit, max_iter or target"),
        ({"max_iter": 0}, InvalidParameterError, "max_iter must be an integer >= 1, got 0"),
        ({"method": "tabu"}, InvalidParameterError, "method must be one of"),
        ({"threads": 0}, InvalidParameterError, r"threads must be an integer in \[1, 1024\], got 0"),
        ({"seed": -3}, InvalidParameterError, r"seed must be an integer in \[0, 2\*\*63 - 1\]"),
        ({"target": float("nan")}, InvalidParameterError, "target must be a number"),
        ({"progress": 3}, InvalidParameterError, "progress must be callable"),
        ({"partial_match": [[0, 1, 2]]}, PartialMatchError, r"partial_match must have shape \(m, 2\)"),
        ({"partial_match": [[0, 12]]}, PartialMatchError, r"partial_match indices must lie in \[0, 11\]"),
        ({"partial_match": [[0, 1], [0, 2]]}, PartialMatchError, "facility 0 appears more than once"),
        ({"initial": [0, 1, 2]}, InvalidParameterError, "initial must be a permutation of length 12"),
        ({"initial": [0] * 12}, InvalidParameterError, r"initial must be a permutation of 0..11"),
        ({"initial": list(range(12)), "partial_match": [[0, 3]]}, PartialMatchError,
         "initial conflicts with partial_match: initial puts facility 0 at location 0, partial_match fixes it at 3"),
    ],
)
def test_bad_options(kwargs, error, message):
    problem = load("nug12")
    with pytest.raises(error, match=message):
        solve(problem, None, **kwargs)


def test_errors_are_value_errors_and_mezan_errors():
    for cls in (InvalidProblemError, InvalidParameterError, PartialMatchError):
        assert issubclass(cls, ValueError) and issubclass(cls, MezanError)
    assert issubclass(InstanceTooLargeError, MemoryError)


def test_too_large_instances_are_refused_with_the_estimate():
    with pytest.raises(InstanceTooLargeError, match=r"n = 1000000 is too large.*needs an estimated 59604\.6 GiB"):
        check_memory(1_000_000)
    assert estimate_memory(1000) < 100 * 2**20
    check_memory(1000)  # fits


def test_problem_record_round_trip_and_fingerprint():
    p = load("nug12")
    q = QAPProblem.from_dict(p.to_dict())
    assert q.fingerprint() == p.fingerprint() and q.name == "nug12" and q.best_known == 578
    assert QAPProblem(p.B, p.A).fingerprint() != p.fingerprint()
    with pytest.raises(InvalidProblemError, match="missing field 'B'"):
        QAPProblem.from_dict({"A": [[0, 1], [1, 0]]})
    with pytest.raises(InvalidProblemError, match="type must be 'qap'"):
        QAPProblem.from_dict({"type": "tsp", "A": [], "B": []})
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        p.A[0, 0] = 5  # records are immutable


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, "1", True])
def test_a_bad_seed_is_refused_naming_seed_at_every_entry(seed, tmp_path):
    problem = QAPProblem([[0, 1], [1, 0]], [[0, 2], [2, 0]])
    with pytest.raises(InvalidParameterError, match="seed must be an integer in"):
        mezan.solve(problem, seed=seed, metaflow=MetaFlow(tmp_path / "s.db"))
    with pytest.raises(InvalidParameterError, match="seed must be an integer in"):
        MetaFlow(tmp_path / "s.db", seed=seed)


def test_the_cli_refuses_a_negative_seed_in_one_line():
    out = subprocess.run([sys.executable, "-m", "mezan.cli", "solve", "nug12", "--seed", "-1", "--time", "0.1"],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "seed must be an integer in [0, 2**63 - 1]" in out.stderr


@pytest.mark.parametrize("dtype", ["m8[s]", "M8[s]", "complex128", "U3", "O"])
def test_matrices_of_times_dates_or_text_are_refused_naming_the_matrix(dtype):
    A = np.arange(9).reshape(3, 3).astype(dtype) if dtype != "O" else np.array([[object()] * 3] * 3)
    with pytest.raises((InvalidParameterError, InvalidProblemError), match=r"\bA\b"):
        solve(A, np.eye(3), time_limit=0.1)
    with pytest.raises(InvalidProblemError, match=r"\bA\b"):
        QAPProblem(A, np.eye(3))


@pytest.mark.parametrize("value", [float("nan"), "no", 1, np.float64(0.0)])
def test_lower_bound_takes_only_true_false_or_none(value):
    with pytest.raises(InvalidParameterError, match="lower_bound must be True or False"):
        solve(np.eye(3), np.eye(3), time_limit=0.1, lower_bound=value)
