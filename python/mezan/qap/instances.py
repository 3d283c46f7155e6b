"""QAPLIB instances shipped with the package (a few small ones, for examples and tests); the best-known
value table is :mod:`mezan.qap.best_known` (re-exported here)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from mezan.errors import InvalidParameterError
from mezan.problems import QAPProblem
from mezan.qap.best_known import DATA
from mezan.qap.io import read_qaplib


def shipped() -> list[str]:
    """Return the names of the QAPLIB instances bundled with the package.

    Returns
    -------
    list of str
        The names, sorted, each accepted by :func:`load`.
    """
    return sorted(Path(str(p)).stem for p in DATA.iterdir() if str(p).endswith(".dat"))


def instance_path(name: str) -> Path:
    """Path of a bundled instance's ``.dat`` file."""
    path = Path(str(DATA / f"{name}.dat"))
    if not path.exists():
        raise InvalidParameterError(f"no bundled instance named {name!r}; bundled: {', '.join(shipped())}")
    return path


def load(name: str):
    """Load a bundled QAPLIB instance.

    Parameters
    ----------
    name : str
        The instance's name, one of :func:`shipped` (e.g. ``"nug12"``).

    Returns
    -------
    mezan.problems.QAPProblem
        The instance, named ``name``, with its ``best_known`` value filled in from :func:`best_known`.

    Raises
    ------
    mezan.errors.InvalidParameterError
        When no instance of that name is bundled; the message lists the bundled ones.
    """
    return read_qaplib(instance_path(name))


def best_known_table(folder: str | Path) -> dict[str, float]:
    """Return the best-known values of a QAPLIB folder's ``bks.csv``.

    Parameters
    ----------
    folder : str or Path
        A folder of QAPLIB ``.dat`` files; its ``bks.csv`` has a ``name`` column and a ``bks`` (or
        ``best_known`` or ``value``) column.

    Returns
    -------
    dict
        Instance name -> best-known value; empty without a ``bks.csv``. Rows that are not finite numbers are
        skipped.
    """
    path = Path(folder) / "bks.csv"
    if not path.is_file():
        return {}
    table = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                table[row["name"]] = float(row.get("bks") or row.get("best_known") or row.get("value") or "nan")
            except (KeyError, TypeError, ValueError):
                continue
    return {k: v for k, v in table.items() if math.isfinite(v)}


def named(name: str, folder: str | Path | None = None) -> QAPProblem:
    """Load a QAPLIB instance by name: a bundled one, else ``folder/NAME.dat``.

    Parameters
    ----------
    name : str
        The instance's name (``"nug12"``, ``"tai30a"``).
    folder : str or Path, optional
        A QAPLIB folder to look in when no bundled instance has the name (the command line passes
        ``$MEZAN_QAPLIB``); its ``bks.csv`` gives the best-known value.

    Returns
    -------
    QAPProblem
        The instance, with its best-known value when one is known.

    Raises
    ------
    mezan.errors.InvalidParameterError
        No bundled instance has the name and the folder (if any) holds no ``NAME.dat``.
    """
    if name in shipped():
        return load(name)
    path = None if folder is None else Path(folder) / f"{name}.dat"
    if path is None or not path.is_file():
        where = f"nor in {folder}" if folder is not None else "and no QAPLIB folder was given ($MEZAN_QAPLIB)"
        raise InvalidParameterError(f"no QAPLIB instance named {name!r}: not bundled ({', '.join(shipped())}) {where}")
    problem = read_qaplib(path)
    bks = best_known_table(folder) if problem.best_known is None else {}
    if name in bks:
        problem = QAPProblem(problem.A, problem.B, name=problem.name, best_known=bks[name])
    return problem
