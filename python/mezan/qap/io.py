"""QAPLIB files: read .dat instances (parsed by the C++ core, shared with C++ hosts), write them,
and read .sln solutions."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mezan import _core
from mezan.errors import InvalidParameterError, QAPLIBFormatError
from mezan.inputs import regular_file, shown
from mezan.problems import QAPProblem
from mezan.qap.best_known import best_known


def read_qaplib(path: str | os.PathLike) -> QAPProblem:
    """Read a QAPLIB ``.dat`` instance file.

    The file holds n, then A (n x n), then B (n x n), whitespace separated; it is parsed by the C++ core (the same
    parser C++ hosts use).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.dat`` file. A path that is not a regular file (missing, a folder, a pipe) is refused before it is
        opened.

    Returns
    -------
    mezan.problems.QAPProblem
        The instance: int64 matrices for an integer file, float64 otherwise. Its ``name`` is the file stem and its
        ``best_known`` is filled in when the name is in the shipped best-known table (:func:`best_known`).

    Raises
    ------
    mezan.errors.QAPLIBFormatError
        When the file cannot be read or is malformed; the message names the file and the line of the first
        problem.
    """
    try:
        path = regular_file(path, "QAPLIB file")
    except InvalidParameterError as exc:
        raise QAPLIBFormatError(str(exc)) from None
    try:
        A, B, integral = _core.read_qaplib(str(path))
    except _core.QaplibError as exc:  # "<path>:<line>: what": the path shown with its control characters escaped
        message = str(exc)
        message = shown(path) + message[len(str(path)):] if message.startswith(str(path)) else message
        raise QAPLIBFormatError(message) from None
    if integral:
        A, B = A.astype(np.int64), B.astype(np.int64)
    name = path.stem
    return QAPProblem(A, B, name=name, best_known=best_known(name))


def write_qaplib(path: str | os.PathLike, A, B) -> None:
    """Write a QAP instance to a file in QAPLIB layout.

    The file holds n, a blank line, A row by row, a blank line, then B. Integer matrices are written as integers,
    real ones with ``repr`` precision (a float read back is the same float).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (replaced when it exists).
    A : array_like, shape (n, n)
        The flow matrix (between facilities).
    B : array_like, shape (n, n)
        The distance matrix (between locations).

    Raises
    ------
    mezan.errors.InvalidProblemError
        When ``A`` and ``B`` are not a valid QAP (square, same size, finite, n >= 2).
    """
    problem = QAPProblem(A, B)
    integral = all(np.issubdtype(m.dtype, np.integer) for m in (problem.A, problem.B))

    fmt = str if integral else repr  # repr of a float round-trips exactly

    def rows(m: np.ndarray) -> str:
        return "\n".join(" ".join(fmt(v.item()) for v in row) for row in m)

    Path(path).write_text(f"{problem.n}\n\n{rows(problem.A)}\n\n{rows(problem.B)}\n")


def read_solution(path: str | os.PathLike) -> tuple[float, np.ndarray]:
    """Read a QAPLIB ``.sln`` solution file.

    The file holds ``n value`` then a 1-based permutation of n entries, whitespace separated.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.sln`` file.

    Returns
    -------
    value : int or float
        The objective value the file states, an ``int`` when it is a whole number.
    permutation : numpy.ndarray of int64, shape (n,)
        The permutation, 0-based: ``permutation[i]`` is the location of facility i.

    Raises
    ------
    mezan.errors.QAPLIBFormatError
        When the file cannot be opened or is malformed (a token that is not a number, n not a positive integer,
        the wrong number of entries, or entries that are not a permutation of 1..n); the message names the file.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise QAPLIBFormatError(f"{path}: cannot open file ({exc.strerror})") from None
    tokens: list[tuple[int, str]] = [
        (line_no, tok) for line_no, line in enumerate(text.splitlines(), 1) for tok in line.split()
    ]
    if len(tokens) < 2:
        raise QAPLIBFormatError(f"{path}: expected 'n value' on the first line")
    values = []
    for line_no, tok in tokens:
        try:
            values.append(float(tok))
        except ValueError:
            raise QAPLIBFormatError(f"{path}:{line_no}: '{tok}' is not a number") from None
    n = values[0]
    if n != int(n) or n < 1:
        raise QAPLIBFormatError(f"{path}:{tokens[0][0]}: n must be a positive integer, got '{tokens[0][1]}'")
    n = int(n)
    perm = values[2:]
    if len(perm) != n:
        raise QAPLIBFormatError(f"{path}: expected {n} permutation entries, found {len(perm)}")
    p = np.asarray(perm, dtype=np.int64) - 1
    if not np.array_equal(np.sort(p), np.arange(n)):
        raise QAPLIBFormatError(f"{path}: the solution is not a permutation of 1..{n}")
    value = values[1]
    return (int(value) if value == int(value) else value), p
