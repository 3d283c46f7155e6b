"""The store of MEZAN's state: one SQLite file under ``$MEZAN_HOME`` (default ``~/.mezan/``), or a PostgreSQL database
named by a URL that several processes (service replicas) share.

MetaFlow's history (every solve), ratings and trained artifacts (clusterings, selector models) live
here; later components (the service's API keys and jobs) add their own tables to the same file
through :meth:`Store.define`, :meth:`Store.transaction` and :meth:`Store.query`, in SQLite's dialect (the PostgreSQL
backend translates it: :mod:`mezan.store.postgres`). The store's own schema is versioned
(:mod:`mezan.store.migrations`).

Trust: what is read back is checked before it is used. A history row whose checksum does not match, a value of the
wrong kind, or an artifact not signed by this store raises :class:`StoredDataError`, naming the row or artifact.
Artifacts are pickles, so each carries an HMAC-SHA256 of its name and bytes under a key kept beside the store file
(``<store>.key``, created with mode 0600 on the first write; a ``":memory:"`` store keeps a key of its own in
memory; a PostgreSQL store's key is ``$MEZAN_STORE_KEY_FILE`` or ``postgresql.key`` under ``$MEZAN_HOME``, outside the
database, shared by its replicas): an artifact from another store, or altered in this one, is refused before it is
unpickled.

Durability and concurrency: WAL journal, ``synchronous=NORMAL`` (a committed transaction survives the
death of the process that wrote it), ``busy_timeout`` of 30 s so that several processes can write at
once, and every write is one transaction — a row is either entirely there or not at all. Each
history row also carries a sha256 checksum of its canonical content, so :meth:`Store.verify` can
prove that nothing was torn or altered. A PostgreSQL store has the server's durability (a committed transaction is
on its disk) and isolation; a server that cannot be reached raises :class:`StoreUnavailable`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import os
import pickle
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mezan import __version__
from mezan.store.errors import StoredDataError, StoreError
from mezan.store.home import mezan_home
from mezan.store.migrations import migrate
from mezan.store.postgres import PostgresBackend, is_url
from mezan.store.sqlite import SQLiteBackend

SCHEMA_VERSION = 1  # the legacy `meta` row; the schema's own versions are mezan.store.migrations'

SOLVE_FIELDS = ("created", "fingerprint", "problem_type", "features", "solver", "time_limit", "objective",
                "lower_bound", "best_known", "wall_time", "seed", "status", "race", "version", "machine")


ARTIFACT_MAGIC = b"MZA1"  # signed artifact: magic, 32-byte HMAC-SHA256 of its name and pickle, the pickle


def _signature(key: bytes, name: str, data: bytes) -> bytes:
    """HMAC-SHA256 of an artifact's name and pickle: a signed payload moved under another name is refused too."""
    return hmac.new(key, name.encode() + b"\0" + data, hashlib.sha256).digest()


def default_path() -> Path:
    """The default SQLite file, ``mezan.db`` under :func:`mezan_home`."""
    return mezan_home() / "mezan.db"


def machine() -> str:
    return f"{platform.node()} {platform.machine()} {platform.python_implementation()} {platform.python_version()}"


def canonical_sha256(values: list[Any]) -> str:
    """sha256 of the compact JSON of ``values``: the checksum of a stored row (history rows, blackboard posts)."""
    return hashlib.sha256(json.dumps(values, separators=(",", ":"), default=str).encode()).hexdigest()


def checksum(row: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a history row's fields (all but id and checksum)."""
    return canonical_sha256([row.get(k) for k in SOLVE_FIELDS])


REAL_FIELDS = ("created", "time_limit", "objective", "lower_bound", "best_known", "wall_time")


def checksum_matches(row: dict[str, Any]) -> bool:
    """Whether a history row read back matches its stored checksum. SQLite hands REAL columns back as floats; rows
    written before the numbers were stored as floats were summed with each whole number as its caller gave it, an
    int or a float — so, on a mismatch, every int/float spelling of the whole-number fields is tried (at most 2^6)."""
    if checksum(row) == row["checksum"]:
        return True
    whole = [k for k in REAL_FIELDS if isinstance(row.get(k), float) and row[k].is_integer()]
    for spelling in itertools.product((False, True), repeat=len(whole)):
        if any(spelling) and checksum({**row, **{k: int(row[k]) for k, as_int in zip(whole, spelling, strict=True)
                                                  if as_int}}) == row["checksum"]:
            return True
    return False


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
    """The store of MEZAN's state (see :mod:`mezan.store`): one interface, two backends.

    Opening a file store creates its folder and file when missing; opening any store applies its missing schema
    migrations (:mod:`mezan.store.migrations`). Safe to share between threads and processes.

    Parameters
    ----------
    path : str, os.PathLike or None, optional
        The SQLite file; None for ``$MEZAN_STORE`` when it is set, else the default, ``mezan.db`` under
        :func:`mezan_home`; ``":memory:"`` for a private, unsaved store; a ``postgresql://`` URL for a PostgreSQL
        database (libpq's URL form, e.g. ``postgresql://mezan:secret@db:5432/mezan``).

    Raises
    ------
    StoreError
        When the store's folder cannot be made, the file cannot be opened as an SQLite database, the URL is not a
        PostgreSQL one, or the store holds a schema version this MEZAN does not know.
    StoreUnavailable
        When a PostgreSQL server cannot be reached.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        if path is None and os.environ.get("MEZAN_STORE"):
            path = os.environ["MEZAN_STORE"]
        self._backend: SQLiteBackend | PostgresBackend
        if is_url(path):
            self._backend = PostgresBackend(str(path))
        elif isinstance(path, str) and "://" in path and path.split("://")[0].replace("+", "").isalnum():
            raise StoreError(f"store {path.split('://')[0]}://...: a store is an SQLite file (a path), ':memory:' or "
                             f"a PostgreSQL URL (postgresql://user@host:port/database)")
        else:
            file = default_path() if path is None else (path if path == ":memory:" else Path(path))
            if isinstance(file, Path):
                self._make_folder(file.parent)
            self._backend = SQLiteBackend(file)
        self.path: Path | str = self._backend.path
        self.dialect = self._backend.name
        self._defined: set[str] = set()
        try:
            self._check_schema()
        except BaseException:
            self._backend.close()  # a refused store keeps no pool, thread or connection open
            raise

    def _check_schema(self) -> None:
        """Apply the migrations this store lacks; StoreError when it was written by a newer MEZAN."""
        migrate(self._backend)
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if int(row[0]) != SCHEMA_VERSION:
            raise StoreError(f"{self.location}: schema version {row[0]}, this MEZAN reads {SCHEMA_VERSION}")

    def __repr__(self) -> str:
        return f"Store({self.location!r})"

    @property
    def location(self) -> str:
        """The file, or the URL without its password: for messages."""
        return self._backend.location

    @property
    def skip_locked(self) -> str:
        """What follows a ``SELECT`` that claims rows for this transaction only: ``FOR UPDATE SKIP LOCKED`` on
        PostgreSQL, nothing on SQLite (whose write transaction already excludes every other writer)."""
        return self._backend.skip_locked

    @staticmethod
    def _make_folder(folder: Path) -> None:
        """The store's folder, made when missing; StoreError naming it (and ``MEZAN_HOME`` when it is that) when it
        cannot be: a file in the way, no permission."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            home = " (MEZAN_HOME)" if folder == mezan_home() else ""
            raise StoreError(f"the store's folder {folder}{home} is a file, not a folder") from None
        except OSError as exc:
            raise StoreError(f"cannot make the store's folder {folder}: {exc.strerror or exc}") from None
        if not folder.is_dir():
            raise StoreError(f"the store's folder {folder} is not a folder")

    # ---- connections ------------------------------------------------------------------------
    def _connection(self) -> Any:
        """This thread's SQLite connection (an SQLite store only: tests alter rows through it)."""
        if not isinstance(self._backend, SQLiteBackend):
            raise StoreError(f"{self.location}: a PostgreSQL store has no single connection; use transaction()")
        return self._backend.connection()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._backend.transaction() as db:
            yield db

    def define(self, schema: str) -> None:
        """Create a component's own tables (idempotent ``CREATE ... IF NOT EXISTS`` statements, SQLite's types).

        Parameters
        ----------
        schema : str
            The statements, ``;``-separated.
        """
        if self.dialect == "sqlite":
            self._backend.script(schema)
        elif schema not in self._defined:  # a server database: once per process, under the schema lock
            self._backend.script(schema)
            self._defined.add(schema)

    def transaction(self) -> Any:
        """One write transaction (rolled back on error) for a component's own tables: ``with store.transaction() as
        db: db.execute(sql, args)``, in SQLite's dialect (``?`` placeholders) on either backend."""
        return self._transaction()

    def lock(self, db: Any, name: str) -> None:
        """Hold a lock named ``name`` until the transaction ``db`` ends, so that a read-then-write (a count
        against a quota) is atomic across processes: a PostgreSQL advisory lock; nothing on SQLite, whose write
        transaction already excludes every other writer.

        Parameters
        ----------
        db : connection
            The transaction (from :meth:`transaction`).
        name : str
            What is locked (e.g. ``"quota:<key id>"``).
        """
        self._backend.lock(db, name)

    def query(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement.

        Parameters
        ----------
        sql : str
            The statement, SQLite's dialect (``?`` placeholders).
        args : tuple or list, optional
            Its arguments.

        Returns
        -------
        list of tuple
            The rows.
        """
        return self._backend.query(sql, args)

    def _one(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> tuple[Any, ...] | None:
        rows = self._backend.query(sql, args)
        return rows[0] if rows else None

    def close(self) -> None:
        """Close this thread's connection (SQLite) or the pool (PostgreSQL)."""
        self._backend.close()

    # ---- history ----------------------------------------------------------------------------
    def append_solve(self, *, after: Callable[[Any, int], Any] | None = None, **fields: Any) -> int:
        """Append one solve (fields of :data:`SOLVE_FIELDS`; ``features`` a dict) in one transaction; ``after(db,
        solve_id)`` makes more writes in that same transaction (e.g. marking the solve warm-started), so that no reader
        sees the row without them."""
        row = {k: fields.get(k) for k in SOLVE_FIELDS}
        row["created"] = row["created"] if row["created"] is not None else time.time()
        row["features"] = json.dumps(fields.get("features") or {}, sort_keys=True, default=float)
        row["seed"] = None if row["seed"] is None else str(row["seed"])
        for key in REAL_FIELDS:  # as SQLite's REAL columns will hand them back, so the checksum reads back equal
            given = row[key]
            if given is None:
                continue
            try:
                number = float(given)
            except (TypeError, ValueError):
                raise StoreError(f"a history row's {key} must be a number, got {given!r}") from None
            row[key] = number if math.isfinite(number) else None  # SQLite would store NaN as NULL: no number
        row["version"] = row["version"] or __version__
        row["machine"] = row["machine"] or machine()
        for key in ("fingerprint", "problem_type", "solver"):
            if not row[key]:
                raise StoreError(f"a history row needs a {key}")
        row["checksum"] = checksum(row)
        columns = ", ".join(row)
        with self._transaction() as db:
            # one appender at a time, from the id's allocation to the commit: ids commit in increasing order, so a
            # reader that remembers the last id it saw (MetaFlow's tallies) never skips one (PostgreSQL hands out
            # identity values at INSERT, not at commit)
            self._backend.lock(db, "solves")
            cursor = db.execute(f"INSERT INTO solves ({columns}) VALUES ({', '.join('?' * len(row))})",
                                tuple(row.values()))
            solve_id = int(cursor.lastrowid or 0)
            if after is not None:
                after(db, solve_id)
            return solve_id

    def solves(self, *, fingerprint: str | None = None, problem_type: str | None = None,
               after: int | None = None, before: int | None = None) -> list[SolveRecord]:
        """The history rows (of one fingerprint, of one problem type, with ids above ``after`` and below ``before``),
        in id order, each checked (:class:`StoredDataError` names a row that fails)."""
        query = "SELECT id, " + ", ".join(SOLVE_FIELDS) + " FROM solves"
        args: list[Any] = []
        where = []
        if after is not None:
            where.append("id > ?")
            args.append(int(after))
        if before is not None:
            where.append("id < ?")
            args.append(int(before))
        if fingerprint is not None:
            where.append("fingerprint = ?")
            args.append(fingerprint)
        if problem_type is not None:
            where.append("problem_type = ?")
            args.append(problem_type)
        if where:
            query += " WHERE " + " AND ".join(where)
        query = query.replace("SELECT id, ", "SELECT id, checksum, ", 1)
        rows = self.query(query + " ORDER BY id", args)
        return [self._record(r) for r in rows]

    def _record(self, r: tuple[Any, ...]) -> SolveRecord:
        """A history row (id, checksum, fields...) as a record, once its checksum and kinds are checked."""
        values = dict(zip(("id", "checksum", *SOLVE_FIELDS), r, strict=True))
        matches = checksum_matches(values)
        del values["checksum"]
        where = f"{self.location}: history row {values['id']}"
        if not matches:
            raise StoredDataError(f"{where} fails its checksum (altered outside MEZAN); `mezan meta verify` lists "
                                  f"such rows")
        try:
            values["features"] = json.loads(values["features"])
        except (TypeError, ValueError):
            raise StoredDataError(f"{where}: features are not JSON") from None
        if not isinstance(values["features"], dict):
            raise StoredDataError(f"{where}: features must be a JSON object")
        for key in REAL_FIELDS:
            if values[key] is not None and (isinstance(values[key], bool) or not isinstance(values[key], int | float)):
                raise StoredDataError(f"{where}: {key} must be a number, got {values[key]!r}")
        return SolveRecord(**values)

    def latest_solve(self, fingerprint: str) -> SolveRecord | None:
        """The last recorded solve of a fingerprint (checked), or None: one row, whatever the history holds."""
        row = self._one("SELECT id, checksum, " + ", ".join(SOLVE_FIELDS) + " FROM solves WHERE "
                                         "fingerprint = ? ORDER BY id DESC LIMIT 1", (fingerprint,))
        return None if row is None else self._record(row)

    def history_generation(self) -> str:
        """Changes whenever history rows are deleted (:meth:`delete_solves`, :meth:`reset`): what is derived from the
        history and kept (MetaFlow's tallies) is rebuilt then. Appending does not change it."""
        row = self._one("SELECT value FROM meta WHERE key = 'history_generation'")
        return "0" if row is None else str(row[0])

    @staticmethod
    def _next_generation(db: Any) -> None:
        db.execute("INSERT INTO meta VALUES ('history_generation', '1') ON CONFLICT (key) DO UPDATE SET value = "
                   "CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)")

    def count_solves(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM solves")[0][0])

    def best_objective(self, fingerprint: str, sense: str = "min") -> float | None:
        """The best (lowest, or highest for sense="max") objective ever recorded for a fingerprint."""
        aggregate = {"min": "MIN", "max": "MAX"}[sense]
        row = self.query(f"SELECT {aggregate}(objective) FROM solves WHERE fingerprint = ?", (fingerprint,))[0]
        if row[0] is not None and not isinstance(row[0], int | float):
            raise StoredDataError(f"{self.location}: a history row of {fingerprint} holds a non-numeric objective "
                                  f"{row[0]!r}")
        return None if row[0] is None else float(row[0])

    def verify(self) -> tuple[int, list[int]]:
        """(rows checked, ids of the rows that fail the checks of :meth:`solves`: checksum, kinds) plus SQLite's own
        integrity check."""
        self._backend.integrity_check()
        bad = []
        rows = self.query("SELECT id, checksum, " + ", ".join(SOLVE_FIELDS) + " FROM solves")
        for r in rows:
            try:
                self._record(r)
            except StoredDataError:
                bad.append(int(r[0]))
        return len(rows), bad

    # ---- ratings ----------------------------------------------------------------------------
    def ratings(self, scope: str, *, names: Sequence[str] | None = None, prefix: str | None = None,
                exclude_prefix: str | None = None, limit: int | None = None) -> dict[str, tuple[float, int]]:
        """(rating, games) per player of a scope: all of them, or only ``names``, or those whose name starts with
        ``prefix`` (at most ``limit`` of them, in name order), or all but those starting with ``exclude_prefix`` — so
        that a decision reads the players it needs, not every instance ever rated."""
        query, args = "SELECT solver, rating, games FROM ratings WHERE scope = ?", [scope]
        if names is not None:
            query += f" AND solver IN ({', '.join('?' * len(names))})"
            args += list(names)
        if prefix is not None:  # a range on the (scope, solver) key: the index serves it
            query += " AND solver >= ? AND solver < ?"
            args += [prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)]
        if exclude_prefix is not None:
            query += " AND (solver < ? OR solver >= ?)"
            args += [exclude_prefix, exclude_prefix[:-1] + chr(ord(exclude_prefix[-1]) + 1)]
        if limit is not None:
            query += f" ORDER BY solver LIMIT {int(limit)}"
        rows = self.query(query, args)
        for solver, rating, games in rows:
            if (not isinstance(rating, int | float) or not math.isfinite(rating) or not isinstance(games, int)
                    or games < 0):
                raise StoredDataError(f"{self.location}: rating of {solver!r} in scope {scope!r} is not a finite "
                                      f"number with a non-negative count of games: {rating!r}, {games!r}")
        return {solver: (float(rating), int(games)) for solver, rating, games in rows}

    def has_untyped_rating_scopes(self) -> bool:
        """Whether ratings of an older store remain (scopes ``global`` and ``cluster:<k>``, for every type at once)."""
        return self._one("SELECT 1 FROM ratings WHERE scope = 'global' OR (scope >= 'cluster:' AND "
                                          "scope < 'cluster;') LIMIT 1") is not None

    def rating_scopes(self) -> list[str]:
        return [r[0] for r in self.query("SELECT DISTINCT scope FROM ratings ORDER BY scope")]

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
    def _artifact_key(self, create: bool) -> bytes | None:
        """The key that signs this store's artifacts (None: there is none and ``create`` is False)."""
        return self._backend.artifact_key(create)

    def put_artifact(self, name: str, value: Any) -> None:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        key = self._artifact_key(create=True)
        assert key is not None
        payload = ARTIFACT_MAGIC + _signature(key, name, data) + data
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?)", (name, time.time(), payload))

    def artifact_time(self, name: str) -> float | None:
        row = self._one("SELECT created FROM artifacts WHERE name = ?", (name,))
        return None if row is None else float(row[0])

    def get_artifact(self, name: str, kind: type | None = None) -> Any:
        """The stored object, or None when there is none. It is unpickled only when its signature is this store's
        (see the module docstring), and must then be an instance of ``kind`` (when given); else
        :class:`StoredDataError`."""
        row = self._one("SELECT payload FROM artifacts WHERE name = ?", (name,))
        if row is None:
            return None
        payload, where = row[0], f"{self.location}: artifact {name!r}"
        if not isinstance(payload, bytes) or not payload.startswith(ARTIFACT_MAGIC) or len(payload) < 36:
            raise StoredDataError(f"{where} is not a signed MEZAN artifact (written by another program or an older "
                                  f"MEZAN); rebuild it (`mezan meta train` / `mezan meta recluster`)")
        key = self._artifact_key(create=False)
        mac, data = payload[4:36], payload[36:]
        if key is None or not hmac.compare_digest(mac, _signature(key, name, data)):
            raise StoredDataError(f"{where}: its signature does not match this store's key (altered, or copied "
                                  f"from another store); rebuild it (`mezan meta train` / `mezan meta recluster`)")
        try:
            value = pickle.loads(data)
        except Exception as exc:  # signed by this store, but its classes moved or vanished since (an older MEZAN)
            raise StoredDataError(f"{where} cannot be unpickled ({type(exc).__name__}: {exc}); rebuild it "
                                  f"(`mezan meta train` / `mezan meta recluster`)") from None
        if kind is not None and not isinstance(value, kind):
            raise StoredDataError(f"{where} holds a {type(value).__name__}, not a {kind.__name__}")
        return value

    def artifact_names(self) -> list[str]:
        return [r[0] for r in self.query("SELECT name FROM artifacts ORDER BY name")]

    def delete_solves(self, ids: list[int]) -> None:
        """Remove history rows by id (``mezan meta verify --repair``: rows that fail their checksum)."""
        with self._transaction() as db:
            db.executemany("DELETE FROM solves WHERE id = ?", [(int(i),) for i in ids])
            self._next_generation(db)

    def delete_artifact(self, name: str) -> None:
        """Remove an artifact (nothing when there is none)."""
        with self._transaction() as db:
            db.execute("DELETE FROM artifacts WHERE name = ?", (name,))

    def reset(self) -> None:
        """Forget the history, ratings, artifacts and MetaFlow's memory of solutions (the file stays; other
        components' tables, such as the service's keys and jobs, are kept)."""
        with self._transaction() as db:
            db.execute("DELETE FROM solves")
            self._next_generation(db)
            db.execute("DELETE FROM ratings")
            db.execute("DELETE FROM artifacts")
            present = self._backend.tables(db)
            for table in ("solutions", "warm_started"):  # mezan.meta.memory's tables, once it has created them
                if table in present:
                    db.execute(f"DELETE FROM {table}")
