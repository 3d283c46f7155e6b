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
    """Read a QAPLIB ``.dat`` file: n, then A (n x n), then B (n x n), whitespace separated.

    Integer files give int64 matrices, others float64. The problem's ``name`` is the file stem and
    ``best_known`` is filled in when the name is in the shipped best-known table.
    Raises :class:`mezan.errors.QAPLIBFormatError` naming the file and line of the first problem (a path that is
    not a regular file — missing, a folder, a pipe — is refused before it is opened).
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
    """Write A and B in QAPLIB layout (integers written as integers, reals with repr precision)."""
    problem = QAPProblem(A, B)
    integral = all(np.issubdtype(m.dtype, np.integer) for m in (problem.A, problem.B))

    fmt = str if integral else repr  # repr of a float round-trips exactly

    def rows(m: np.ndarray) -> str:
        return "\n".join(" ".join(fmt(v.item()) for v in row) for row in m)

    Path(path).write_text(f"{problem.n}\n\n{rows(problem.A)}\n\n{rows(problem.B)}\n")


def read_solution(path: str | os.PathLike) -> tuple[float, np.ndarray]:
    """Read a QAPLIB ``.sln`` file: ``n value`` then a 1-based permutation.

    Returns ``(value, permutation)`` with a 0-based permutation (``p[i]`` = location of facility i).
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
