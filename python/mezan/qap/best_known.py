"""The best-known objective of every instance of the QAPLIB reference set (``data/bks.csv``: name, n,
best-known value), shipped with the package."""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

DATA = resources.files("mezan.qap") / "data"


@lru_cache(maxsize=1)
def best_known_table() -> dict[str, float]:
    with (DATA / "bks.csv").open() as f:
        return {row["name"]: float(row["bks"]) for row in csv.DictReader(f)}


def best_known(name: str) -> float | None:
    """Return the best-known objective of a QAPLIB instance.

    The value comes from the table shipped with the package (``data/bks.csv``), which covers every instance of the
    QAPLIB reference set.

    Parameters
    ----------
    name : str
        The instance's QAPLIB name, e.g. ``"nug12"``.

    Returns
    -------
    int, float or None
        The best-known objective, an ``int`` when the value is a whole number; None when the name is not in the
        table.
    """
    value = best_known_table().get(name)
    if value is None:
        return None
    return int(value) if value == int(value) else value
