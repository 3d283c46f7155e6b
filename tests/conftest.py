import atexit
import csv
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st

from mezan.extras import missing as missing_extra

REPO = Path(__file__).resolve().parents[1]

# Never read or write the user's ~/.mezan: the session (and any subprocess) gets an empty MEZAN_HOME,
# and the autouse fixture below gives every test one of its own.
os.environ["MEZAN_HOME"] = tempfile.mkdtemp(prefix="mezan-test-home-")
atexit.register(shutil.rmtree, os.environ["MEZAN_HOME"], ignore_errors=True)


def qaplib_dir() -> Path | None:
    """The shared QAPLIB reference folder: $MEZAN_QAPLIB, else ../shared/qaplib beside the repo."""
    env = os.environ.get("MEZAN_QAPLIB")
    path = Path(env) if env else REPO.parent / "shared" / "qaplib"
    return path if (path / "bks.csv").exists() else None


SHARED = qaplib_dir()


def shared_names(max_n=None):
    """Names of the reference instances that have a .dat file, optionally only those with n <= max_n."""
    if SHARED is None:
        return []
    with open(SHARED / "bks.csv") as f:
        rows = list(csv.DictReader(f))
    return [
        r["name"]
        for r in rows
        if (SHARED / f"{r['name']}.dat").exists() and (max_n is None or int(r["n"]) <= max_n)
    ]


@functools.cache
def all_permutations(n):
    """Every permutation of range(n), one per row (n! rows): each row of n - 1 with n - 1 inserted at each place."""
    rows = np.zeros((1, 0), dtype=np.intp)
    for k in range(n):
        grown = np.empty((len(rows) * (k + 1), k + 1), dtype=np.intp)
        for place in range(k + 1):
            grown[place::k + 1, :place] = rows[:, :place]
            grown[place::k + 1, place] = k
            grown[place::k + 1, place + 1:] = rows[:, place:]
        rows = grown
    rows.setflags(write=False)
    return rows


def brute_force(A, B, fixed=None):
    """Exact optimum by enumeration (n <= 9): (value, permutation). ``fixed``: optional pairs (facility, location)
    every permutation must keep. The objectives of all permutations are computed as arrays, a block at a time:
    sum over i, j of A[i, j] * B[p[i], p[j]], with B read through flat indices p[i] * n + p[j]."""
    A, B = np.asarray(A), np.asarray(B)
    n = len(A)
    perms = all_permutations(n)
    for facility, location in fixed or ():
        perms = perms[perms[:, facility] == location]
    best, arg = None, None
    for start in range(0, len(perms), 50_000):
        block = perms[start:start + 50_000]
        flat = ((block * n)[:, :, None] + block[:, None, :]).reshape(len(block), -1)
        values = np.take(B.ravel(), flat) @ A.ravel()
        k = int(np.argmin(values))
        if best is None or values[k] < best:
            best, arg = values[k], block[k].copy()
    return best, arg


@st.composite
def qap_instances(draw, min_n=2, max_n=9, values=("int", "real"), low=-20, high=50,
                  symmetry=("both", "neither")):
    """The one hypothesis strategy for small QAP instances (brute force checks them): n in [min_n, max_n],
    integer entries in [low, high) or real ones (normal x 10), made symmetric on ``"both"`` sides, ``"A"``,
    ``"B"`` or ``"neither"``. Returns (A, B, kind, symmetry, rng) — the seeded rng for whatever a test draws next."""
    n = draw(st.integers(min_n, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(values))
    if kind == "int":
        A, B = rng.integers(low, high, (n, n)), rng.integers(low, high, (n, n))
    else:
        A, B = rng.normal(size=(n, n)) * 10, rng.normal(size=(n, n)) * 10
    which = draw(st.sampled_from(symmetry))
    if which in ("both", "A"):
        A = A + A.T
    if which in ("both", "B"):
        B = B + B.T
    return A, B, kind, which, rng


def numpy_objective(A, B, p):
    p = np.asarray(p)
    return (np.asarray(A) * np.asarray(B)[np.ix_(p, p)]).sum()


def needs(*extras):
    """Mark a test of the core's files that also uses a component: it skips where that component's extra is not
    installed (the core-only venv of tests/test_wheel.py). The dev environment has every extra: nothing skips."""
    absent = [extra for extra in extras if missing_extra(extra)]
    return pytest.mark.skipif(bool(absent), reason=f"needs the {', '.join(absent)} extra")


@pytest.fixture(autouse=True)
def private_mezan_home(tmp_path, monkeypatch):
    """Each test gets an empty MEZAN_HOME: what one test records or trains cannot steer another."""
    monkeypatch.setenv("MEZAN_HOME", str(tmp_path / "mezan-home"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store, port, *extra):
    """`mezan serve` on a store and port, once /health answers; output in ``proc.log``."""
    log = store.parent / f"server-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "mezan.cli", "serve", "--port", str(port), "--store",
                                 str(store), "--workers", "1", *extra], stdout=out, stderr=subprocess.STDOUT)
    proc.log = log
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if json.loads(r.read())["status"] == "ok":
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")


def pytest_collection_modifyitems(config, items):
    """Order the tests for ``pytest-xdist --dist worksteal`` (``make test``): it hands each of W workers one
    contiguous share of the list (the first gets ``len // W``, and so on), and an idle worker then steals the
    *last* half of the busiest one's queue. So each share starts with its part of the tests marked slow (dealt in
    turn, in collection order) and ends with quick ones: the long tests start early on every worker, and what is
    stolen or run last is short. (Everything slow-first in one share left one worker with all of it: 11 min 33 s
    against 9 min 19 s with this order on the same machine.) Without xdist: slow first, as before."""
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")
    workers = max(1, int(count)) if count.isdigit() else 1  # every test kept, whatever the variable says
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    quick = [item for item in items if item.get_closest_marker("slow") is None]
    ordered, left = [], len(items)
    for w in range(workers):
        share = left // (workers - w)  # xdist's split of what is still pending among the remaining workers
        mine = slow[w::workers]
        ordered += mine + quick[:max(0, share - len(mine))]
        quick = quick[max(0, share - len(mine)):]
        left -= share
    items[:] = ordered + quick
