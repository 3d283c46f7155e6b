"""QAPLIB I/O against the reference data, and RoTS against the best-known values."""

from pathlib import Path

import numpy as np
import pytest

from mezan.errors import QAPLIBFormatError
from mezan.qap import (
    best_known,
    instances,
    objective,
    read_qaplib,
    read_solution,
    shipped,
    solve,
    write_qaplib,
)

from conftest import SHARED, numpy_objective, shared_names


def test_shipped_solutions_reproduce_their_values():
    names = shipped()
    assert len(names) >= 5
    for name in names:
        problem = instances.load(name)
        value, perm = read_solution(instances.DATA / f"{name}.sln")
        assert objective(problem, None, perm) == value == problem.best_known, name


@pytest.mark.parametrize("name", [n for n in shared_names() if (SHARED / f"{n}.sln").exists()])
def test_every_shared_solution_reproduces_its_value(name):
    problem = read_qaplib(SHARED / f"{name}.dat")
    value, perm = read_solution(SHARED / f"{name}.sln")
    assert objective(problem, None, perm) == value
    assert numpy_objective(problem.A, problem.B, perm) == value


@pytest.mark.parametrize("name", shared_names(max_n=20))
def test_rots_reaches_the_best_known_value_for_n_up_to_20(name):
    problem = read_qaplib(SHARED / f"{name}.dat")
    assert problem.best_known == best_known(name)
    result = solve(problem, None, method="rots", time_limit=10.0, seed=0, target=problem.best_known)
    assert result.objective == problem.best_known, f"{name}: {result.objective} after {result.wall_time:.1f}s"


def test_write_then_read_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    A, B = rng.integers(0, 100, (7, 7)), rng.integers(-5, 5, (7, 7))
    write_qaplib(tmp_path / "x.dat", A, B)
    back = read_qaplib(tmp_path / "x.dat")
    assert back.A.dtype == np.int64 and np.array_equal(back.A, A) and np.array_equal(back.B, B)
    Ar, Br = rng.random((5, 5)), rng.random((5, 5))
    write_qaplib(tmp_path / "r.dat", Ar, Br)
    back = read_qaplib(tmp_path / "r.dat")
    assert back.A.dtype == np.float64 and np.array_equal(back.A, Ar) and np.array_equal(back.B, Br)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("3\n1 2 3\n4 x 6\n", r"x\.dat:3: 'x' is not a finite number"),
        ("2\n1 2\n3 4\n5 6\n", r"x\.dat:4: expected 2\*n\*n = 8 matrix values for n = 2, found 6"),
        ("2\n1 2 3 4\n5 6 7 8\n9\n", r"x\.dat:4: unexpected value '9'"),
        ("2.5\n", "the size n must be an integer >= 2"),
        ("1\n5\n5\n", "the size n must be an integer >= 2"),
        ("2\n1 2 nan 4 5 6 7 8\n", r"x\.dat:2: 'nan' is not a finite number"),
        ("2\n1 2 inf 4 5 6 7 8\n", r"x\.dat:2: 'inf' is not a finite number"),
        ("2\n1 0x1A 3 4 5 6 7 8\n", r"x\.dat:2: '0x1A' is not a finite number"),  # strtod reads hex: refused
        ("2\n1 2\x003 4 5 6 7 8 9\n", r"x\.dat:2: '2\?3' is not a finite number"),  # bytes after a NUL count
        ("2\n1 " + "9" * 400 + " 3\n", r"x\.dat:2: '9{24}\.\.\.' is not a finite number"),  # shown shortened
    ],
)
def test_malformed_files_name_the_line(tmp_path, text, message):
    path = tmp_path / "x.dat"
    path.write_text(text)
    with pytest.raises(QAPLIBFormatError, match=message):
        read_qaplib(path)


def test_missing_file_and_bad_solution(tmp_path):
    with pytest.raises(QAPLIBFormatError, match="cannot read it"):
        read_qaplib(tmp_path / "nope.dat")
    (tmp_path / "s.sln").write_text("3 10\n1 1 2\n")
    with pytest.raises(QAPLIBFormatError, match="not a permutation"):
        read_solution(tmp_path / "s.sln")
    (tmp_path / "t.sln").write_text("3 10\n1 2\n")
    with pytest.raises(QAPLIBFormatError, match="expected 3 permutation entries, found 2"):
        read_solution(tmp_path / "t.sln")
    assert isinstance(QAPLIBFormatError("x"), ValueError)
    assert Path(instances.instance_path("nug12")).exists()
