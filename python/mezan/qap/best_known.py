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
    """Best-known objective of a QAPLIB instance by name (e.g. ``"nug12"``), or None if unknown."""
    value = best_known_table().get(name)
    if value is None:
        return None
    return int(value) if value == int(value) else value
