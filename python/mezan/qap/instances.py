"""QAPLIB instances shipped with the package (a few small ones, for examples and tests); the best-known
value table is :mod:`mezan.qap.best_known` (re-exported here)."""

from __future__ import annotations

from pathlib import Path

from mezan.errors import InvalidParameterError
from mezan.qap.best_known import DATA
from mezan.qap.io import read_qaplib


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

    return read_qaplib(instance_path(name))
