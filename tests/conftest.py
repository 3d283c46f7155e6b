import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def qaplib_dir() -> Path | None:
    """The shared QAPLIB reference folder: $MEZAN_QAPLIB, else ../shared/qaplib beside the repo."""
    env = os.environ.get("MEZAN_QAPLIB")
    path = Path(env) if env else REPO.parent / "shared" / "qaplib"
    return path if (path / "bks.csv").exists() else None


@pytest.fixture(scope="session")
def qaplib() -> Path:
    path = qaplib_dir()
    if path is None:
        pytest.skip("QAPLIB reference folder not found (set MEZAN_QAPLIB)")
    return path


def brute_force(A, B):
    """Exact optimum by enumeration (n <= 8): (value, permutation)."""
    import itertools

    n = len(A)
    best, arg = None, None
    for p in itertools.permutations(range(n)):
        p = np.array(p)
        v = (np.asarray(A) * np.asarray(B)[np.ix_(p, p)]).sum()
        if best is None or v < best:
            best, arg = v, p
    return best, arg


def numpy_objective(A, B, p):
    p = np.asarray(p)
    return (np.asarray(A) * np.asarray(B)[np.ix_(p, p)]).sum()
