"""The store's versioned schema: each migration is applied once, in order, and recorded in ``schema_version``
(version, description, when), on SQLite and PostgreSQL alike.

Opening a store runs :func:`migrate`: in one transaction that holds the schema lock (SQLite's write lock; a
PostgreSQL advisory lock), it reads which versions are recorded and applies the others. Running it twice, or from
several processes at once, applies each migration exactly once; a store recorded by a newer MEZAN (a version this one
does not know) is refused rather than changed.

A migration is written once, in SQLite's dialect (the PostgreSQL backend translates its types); ``columns`` adds
columns that an older table lacks (the tables of stores made before versioned migrations).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from mezan.store.errors import StoreError


@dataclass(frozen=True)
class Migration:
    """One step of the schema: ``sql`` (``CREATE ... IF NOT EXISTS`` statements), then ``columns`` (table ->
    ((column, type), ...)) added where missing, then ``then`` (what needs those columns: indexes)."""

    version: int
    description: str
    sql: str
    columns: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    then: str = ""


CORE = """
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

SERVICE = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    rate_per_minute REAL,
    created REAL NOT NULL,
    revoked REAL,
    quota INTEGER
);
CREATE TABLE IF NOT EXISTS sessions (hash TEXT PRIMARY KEY, key_id TEXT NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires);
CREATE TABLE IF NOT EXISTS rate_buckets (
    name TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL, allowed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    solver TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    best REAL,
    elapsed REAL,
    curve TEXT NOT NULL,
    result TEXT,
    error TEXT,
    owner TEXT,
    replica TEXT,
    lease_until REAL,
    cancel INTEGER NOT NULL DEFAULT 0,
    body TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, created);
"""

SLOTS = """
CREATE TABLE IF NOT EXISTS solve_slots (
    id TEXT PRIMARY KEY, owner TEXT, replica TEXT NOT NULL, lease_until REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS solve_slots_by_owner ON solve_slots (owner, lease_until);
CREATE INDEX IF NOT EXISTS solve_slots_by_replica ON solve_slots (replica);
"""

MIGRATIONS = (
    Migration(1, "MEZAN's history, ratings and signed artifacts", CORE),
    Migration(2, "the service's shared state: API keys, login sessions, rate-limit buckets, jobs with leases",
              SERVICE, columns={"api_keys": (("quota", "INTEGER"),),
                                "jobs": (("replica", "TEXT"), ("lease_until", "REAL"),
                                         ("cancel", "INTEGER NOT NULL DEFAULT 0"), ("body", "TEXT"),
                                         ("attempts", "INTEGER NOT NULL DEFAULT 0"))},
              then="CREATE INDEX IF NOT EXISTS jobs_by_lease ON jobs (status, lease_until)"),
    Migration(3, "the service's quota slots: the solves each key holds, on every replica", SLOTS),
)
LATEST = MIGRATIONS[-1].version

_VERSIONS = ("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
             "applied REAL NOT NULL)")


def migrate(backend: Any) -> list[int]:
    """Bring a store's schema to :data:`LATEST`, each missing migration applied once and recorded.

    Parameters
    ----------
    backend : SQLiteBackend or PostgresBackend
        The store's backend.

    Returns
    -------
    list of int
        The versions applied now (empty when the schema was already current).

    Raises
    ------
    StoreError
        When the store records a version this MEZAN does not know (written by a newer one).
    """
    applied = []
    with backend.transaction() as db:
        backend.lock_migrations(db)
        backend.execute_script(db, _VERSIONS)
        done = {int(row[0]) for row in db.execute("SELECT version FROM schema_version").fetchall()}
        unknown = sorted(done - {m.version for m in MIGRATIONS})
        if unknown:
            raise StoreError(f"{backend.location}: schema version {unknown[-1]}, this MEZAN reads up to {LATEST} "
                             f"(the store was written by a newer MEZAN)")
        for migration in MIGRATIONS:
            if migration.version in done:
                continue
            backend.execute_script(db, migration.sql)
            for table, columns in migration.columns.items():
                present = set(backend.columns(db, table))
                for name, kind in columns:
                    if name not in present:
                        backend.execute_script(db, f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            backend.execute_script(db, migration.then)
            db.execute("INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)",
                       (migration.version, migration.description, time.time()))
            applied.append(migration.version)
    return applied


def versions(backend: Any) -> list[tuple[int, str, float]]:
    """The recorded migrations.

    Parameters
    ----------
    backend : SQLiteBackend or PostgresBackend
        The store's backend.

    Returns
    -------
    list of tuple
        (version, description, when applied), in order.
    """
    return [(int(v), str(d), float(t)) for v, d, t in
            backend.query("SELECT version, description, applied FROM schema_version ORDER BY version")]
