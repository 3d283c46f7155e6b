"""The embedded store: one SQLite file under ``$MEZAN_HOME`` (default ``~/.mezan/``) holding MEZAN's state.

MetaFlow's history (every solve), ratings and trained artifacts (clusterings, selector models) live
here; later components (the service's API keys and jobs) add their own tables to the same file
through :meth:`Store.define`, :meth:`Store.transaction` and :meth:`Store.query`.

Durability and concurrency: WAL journal, ``synchronous=NORMAL`` (a committed transaction survives the
death of the process that wrote it), ``busy_timeout`` of 30 s so that several processes can write at
once, and every write is one transaction — a row is either entirely there or not at all. Each
history row also carries a sha256 checksum of its canonical content, so :meth:`Store.verify` can
prove that nothing was torn or altered.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import platform
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mezan.errors import MezanError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS solves (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    fingerprint TEXT NOT NULL,
    problem_type TEXT NOT NULL,
    features TEXT NOT NULL,
    solver TEXT NOT NULL,
    time_limit REAL,
    objective REAL,
    lower_bound REAL,
    best_known REAL,
    wall_time REAL,
    seed TEXT,
    status TEXT,
    race TEXT,
    version TEXT NOT NULL,
    machine TEXT NOT NULL,
    checksum TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS solves_by_fingerprint ON solves (fingerprint);
CREATE TABLE IF NOT EXISTS ratings (
    scope TEXT NOT NULL, solver TEXT NOT NULL, rating REAL NOT NULL, games INTEGER NOT NULL,
    PRIMARY KEY (scope, solver)
);
CREATE TABLE IF NOT EXISTS artifacts (name TEXT PRIMARY KEY, created REAL NOT NULL, payload BLOB NOT NULL);
"""

SOLVE_FIELDS = ("created", "fingerprint", "problem_type", "features", "solver", "time_limit", "objective",
                "lower_bound", "best_known", "wall_time", "seed", "status", "race", "version", "machine")


class StoreError(MezanError):
    """The store file cannot be opened or is not a MEZAN store."""


def mezan_home() -> Path:
    """``$MEZAN_HOME`` or ``~/.mezan``."""
    return Path(os.environ.get("MEZAN_HOME") or Path.home() / ".mezan")


def default_path() -> Path:
    return mezan_home() / "mezan.db"


def machine() -> str:
    return f"{platform.node()} {platform.machine()} {platform.python_implementation()} {platform.python_version()}"


def canonical_sha256(values: list[Any]) -> str:
    """sha256 of the compact JSON of ``values``: the checksum of a stored row (history rows, blackboard posts)."""
    return hashlib.sha256(json.dumps(values, separators=(",", ":"), default=str).encode()).hexdigest()


def checksum(row: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a history row's fields (all but id and checksum)."""
    return canonical_sha256([row.get(k) for k in SOLVE_FIELDS])


@dataclass(frozen=True)
class SolveRecord:
    """One row of the history, as read back."""

    id: int
    created: float
    fingerprint: str
    problem_type: str
    features: dict[str, Any]
    solver: str
    time_limit: float | None
    objective: float | None
    lower_bound: float | None
    best_known: float | None
    wall_time: float | None
    seed: str | None
    status: str | None
    race: str | None
    version: str
    machine: str


class Store:
    """The SQLite store. ``path=None``: :func:`default_path`; ``":memory:"`` for a private, unsaved one.

    One connection per thread; safe to share between threads and processes.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path: Path | str = default_path() if path is None else (path if path == ":memory:" else Path(path))
        self._local = threading.local()
        self._memory: sqlite3.Connection | None = None
        # ":memory:" is one connection shared by every thread: its transactions (and executescript, which commits
        # whatever is pending) take turns under this lock; file stores have a connection per thread instead
        self._memory_lock = threading.RLock()
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._serial():
            self._connection().executescript(_SCHEMA)  # idempotent; executescript manages its own transaction
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise StoreError(f"{self.path}: schema version {row[0]}, this MEZAN reads {SCHEMA_VERSION}")

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # ---- connections ------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self.path == ":memory:":
            if self._memory is None:
                self._memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            return self._memory
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA busy_timeout=30000")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot open the MEZAN store {self.path}: {exc}") from exc
            self._local.db = db
        return db

    def _serial(self) -> Any:
        return self._memory_lock if self.path == ":memory:" else contextlib.nullcontext()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._serial():
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")

    def define(self, schema: str) -> None:
        """Create a component's own tables (idempotent ``CREATE ... IF NOT EXISTS`` statements)."""
        with self._serial():
            self._connection().executescript(schema)

    def transaction(self):
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on error) for a
        component's own tables: ``with store.transaction() as db: db.execute(...)``."""
        return self._transaction()

    def query(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement."""
        return self._connection().execute(sql, args).fetchall()

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ---- history ----------------------------------------------------------------------------
    def append_solve(self, **fields: Any) -> int:
        """Append one solve (fields of :data:`SOLVE_FIELDS`; ``features`` a dict) in one transaction."""
        from mezan import __version__

        row = {k: fields.get(k) for k in SOLVE_FIELDS}
        row["created"] = row["created"] if row["created"] is not None else time.time()
        row["features"] = json.dumps(fields.get("features") or {}, sort_keys=True, default=float)
        row["seed"] = None if row["seed"] is None else str(row["seed"])
        row["version"] = row["version"] or __version__
        row["machine"] = row["machine"] or machine()
        for key in ("fingerprint", "problem_type", "solver"):
            if not row[key]:
                raise StoreError(f"a history row needs a {key}")
        row["checksum"] = checksum(row)
        columns = ", ".join(row)
        with self._transaction() as db:
            cursor = db.execute(f"INSERT INTO solves ({columns}) VALUES ({', '.join('?' * len(row))})",
                                tuple(row.values()))
            return int(cursor.lastrowid or 0)

    def solves(self, *, fingerprint: str | None = None, problem_type: str | None = None) -> list[SolveRecord]:
        query, args = "SELECT id, " + ", ".join(SOLVE_FIELDS) + " FROM solves", []
        where = []
        if fingerprint is not None:
            where.append("fingerprint = ?")
            args.append(fingerprint)
        if problem_type is not None:
            where.append("problem_type = ?")
            args.append(problem_type)
        if where:
            query += " WHERE " + " AND ".join(where)
        rows = self._connection().execute(query + " ORDER BY id", args).fetchall()
        out = []
        for r in rows:
            values = dict(zip(("id", *SOLVE_FIELDS), r, strict=True))
            values["features"] = json.loads(values["features"])
            out.append(SolveRecord(**values))
        return out

    def count_solves(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM solves").fetchone()[0])

    def best_objective(self, fingerprint: str, sense: str = "min") -> float | None:
        """The best (lowest, or highest for sense="max") objective ever recorded for a fingerprint."""
        aggregate = {"min": "MIN", "max": "MAX"}[sense]
        row = self._connection().execute(f"SELECT {aggregate}(objective) FROM solves WHERE fingerprint = ?",
                                         (fingerprint,)).fetchone()
        return None if row[0] is None else float(row[0])

    def verify(self) -> tuple[int, list[int]]:
        """(rows checked, ids whose checksum does not match) plus SQLite's own integrity check."""
        db = self._connection()
        status = db.execute("PRAGMA integrity_check").fetchone()[0]
        if status != "ok":
            raise StoreError(f"{self.path}: SQLite integrity check failed: {status}")
        bad = []
        rows = db.execute("SELECT id, " + ", ".join(SOLVE_FIELDS) + ", checksum FROM solves").fetchall()
        for r in rows:
            values = dict(zip(("id", *SOLVE_FIELDS, "checksum"), r, strict=True))
            if checksum(values) != values["checksum"]:
                bad.append(values["id"])
        return len(rows), bad

    # ---- ratings ----------------------------------------------------------------------------
    def ratings(self, scope: str) -> dict[str, tuple[float, int]]:
        rows = self._connection().execute("SELECT solver, rating, games FROM ratings WHERE scope = ?",
                                          (scope,)).fetchall()
        return {solver: (float(rating), int(games)) for solver, rating, games in rows}

    def rating_scopes(self) -> list[str]:
        return [r[0] for r in self._connection().execute("SELECT DISTINCT scope FROM ratings ORDER BY scope")]

    def set_ratings(self, scope: str, ratings: dict[str, tuple[float, int]]) -> None:
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?)",
                           [(scope, s, float(r), int(g)) for s, (r, g) in ratings.items()])

    def replace_ratings(self, scopes: dict[str, dict[str, tuple[float, int]]], prefix: str = "") -> None:
        """Replace the ratings of every scope starting with ``prefix`` (e.g. ``"qap:"``: one problem type's; ""
        every scope) by ``scopes`` (scope -> solver -> (rating, games)), in one transaction."""
        if any(not scope.startswith(prefix) for scope in scopes):
            raise ValueError(f"replace_ratings: every scope must start with {prefix!r}")
        with self._transaction() as db:
            db.execute("DELETE FROM ratings WHERE substr(scope, 1, ?) = ?", (len(prefix), prefix))
            db.executemany("INSERT INTO ratings VALUES (?, ?, ?, ?)",
                           [(scope, s, float(r), int(g)) for scope, ratings in scopes.items()
                            for s, (r, g) in ratings.items()])

    def delete_rating_scopes(self, scopes: list[str]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM ratings WHERE scope = ?", [(scope,) for scope in scopes])

    # ---- artifacts (clusterings, trained models) --------------------------------------------
    def put_artifact(self, name: str, value: Any) -> None:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?)", (name, time.time(), payload))

    def artifact_time(self, name: str) -> float | None:
        row = self._connection().execute("SELECT created FROM artifacts WHERE name = ?", (name,)).fetchone()
        return None if row is None else float(row[0])

    def get_artifact(self, name: str) -> Any:
        """The stored object, or None. Artifacts are pickles written by this store: load only your own."""
        row = self._connection().execute("SELECT payload FROM artifacts WHERE name = ?", (name,)).fetchone()
        return None if row is None else pickle.loads(row[0])

    def delete_artifact(self, name: str) -> None:
        """Remove an artifact (nothing when there is none)."""
        with self._transaction() as db:
            db.execute("DELETE FROM artifacts WHERE name = ?", (name,))

    def reset(self) -> None:
        """Forget the history, ratings, artifacts and MetaFlow's memory of solutions (the file stays; other
        components' tables, such as the service's keys and jobs, are kept)."""
        with self._transaction() as db:
            db.execute("DELETE FROM solves")
            db.execute("DELETE FROM ratings")
            db.execute("DELETE FROM artifacts")
            present = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for table in ("solutions", "warm_started"):  # mezan.meta.memory's tables, once it has created them
                if table in present:
                    db.execute(f"DELETE FROM {table}")
