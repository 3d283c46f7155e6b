"""QAPLIB instances shipped with the package, and the best-known value table.

The package ships a few small instances (for examples and tests) and the best-known objective of
every instance in the QAPLIB reference set (``data/bks.csv``: name, n, best-known value).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from pathlib import Path

from mezan.errors import InvalidParameterError

DATA = resources.files("mezan.qap") / "data"


@lru_cache(maxsize=1)
def best_known_table() -> dict[str, float]:
    with (DATA / "bks.csv").open() as f:
        return {row["name"]: float(row["bks"]) for row in csv.DictReader(f)}


def best_known(name: str) -> float | None:
    """Best-known objective of a QAPLIB instance by name (e.g. ``"nug12"``), or None if unknown."""
    value = best_known_table().get(name)
    if value is None:
        return None
    return int(value) if value == int(value) else value


def shipped() -> list[str]:
    """Names of the QAPLIB instances bundled with the package."""
    return sorted(Path(str(p)).stem for p in DATA.iterdir() if str(p).endswith(".dat"))


def instance_path(name: str) -> Path:
    """Path of a bundled instance's ``.dat`` file."""
    path = Path(str(DATA / f"{name}.dat"))
    if not path.exists():
        raise InvalidParameterError(f"no bundled instance named {name!r}; bundled: {', '.join(shipped())}")
    return path


def load(name: str):
    """Load a bundled QAPLIB instance as a :class:`mezan.problems.QAPProblem`."""
    from mezan.qap.io import read_qaplib

    return read_qaplib(instance_path(name))
