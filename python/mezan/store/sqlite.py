"""The embedded backend: one SQLite file (WAL) or a private ``":memory:"`` database.

One connection per thread for a file (a ``":memory:"`` database is one connection shared by every thread, its
transactions taking turns under a lock); every write is one ``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction, so that
SQLite's one writer lock also serialises the schema migrations of several processes opening one file at once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mezan.store.errors import StoreError
from mezan.store.keyfile import read_key_file


class SQLiteBackend:
    """SQLite under the store interface (see :class:`mezan.store.Store`).

    Parameters
    ----------
    path : pathlib.Path or str
        The database file, or ``":memory:"``.
    """

    name = "sqlite"
    skip_locked = ""  # BEGIN IMMEDIATE already holds the one write lock: a claim cannot race another

    def __init__(self, path: Path | str) -> None:
        if sqlite3.sqlite_version_info < (3, 35):  # UPSERT ... RETURNING: the shared rate and login buckets
            raise StoreError(f"the SQLite store needs SQLite 3.35 or newer; this Python's sqlite3 module has "
                             f"{sqlite3.sqlite_version}")
        self.path = path
        self.location = str(path)
        self._local = threading.local()
        self._memory: sqlite3.Connection | None = None
        self._memory_lock = threading.RLock()
        self._memory_key = os.urandom(32)  # signs a ":memory:" store's artifacts (a file store's key is a file)

    # ---- connections ------------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
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

    def serial(self) -> Any:
        """The lock a ``":memory:"`` database's statements take turns under (none for a file)."""
        return self._memory_lock if self.path == ":memory:" else contextlib.nullcontext()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on error)."""
        with self.serial():
            db = self.connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")

    def query(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one statement, outside any transaction of this thread's."""
        with self.serial():
            return self.connection().execute(sql, args).fetchall()

    def script(self, sql: str) -> None:
        """Run several statements (a component's ``CREATE ... IF NOT EXISTS``)."""
        with self.serial():
            self.connection().executescript(sql)

    def execute_script(self, db: sqlite3.Connection, sql: str) -> None:
        """Run several statements inside the transaction ``db`` (``executescript`` would commit it)."""
        for statement in split_statements(sql):
            db.execute(statement)

    def lock_migrations(self, db: sqlite3.Connection) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already excludes every other writer."""

    def lock(self, db: sqlite3.Connection, name: str) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already excludes every other writer."""

    def columns(self, db: sqlite3.Connection, table: str) -> list[str]:
        """The columns of a table, in order (empty when there is no such table)."""
        return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]

    def tables(self, db: sqlite3.Connection) -> set[str]:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def integrity_check(self) -> None:
        """SQLite's own integrity check; StoreError naming the file when it fails."""
        status = self.query("PRAGMA integrity_check")[0][0]
        if status != "ok":
            raise StoreError(f"{self.path}: SQLite integrity check failed: {status}")

    def artifact_key(self, create: bool) -> bytes | None:
        """The key that signs artifacts: ``<file>.key`` beside the file; a ``":memory:"`` store's own."""
        if not isinstance(self.path, Path):
            return self._memory_key
        return read_key_file(Path(f"{self.path}.key"), create=create)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def split_statements(sql: str) -> list[str]:
    """The statements of a script (``;``-separated; schemas hold no ``;`` inside a literal)."""
    return [part.strip() for part in sql.split(";") if part.strip()]
