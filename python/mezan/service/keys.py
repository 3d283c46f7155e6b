"""API keys: created once and shown once, stored only as sha256 hashes in the MEZAN store.

A key is ``mzn_`` + 32 random bytes (URL-safe base64): with that much entropy a plain sha256 is a
safe hash (no dictionary to attack) and lets a request be authenticated with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from mezan.errors import InvalidParameterError
from mezan.service.config import SCOPES
from mezan.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    rate_per_minute REAL,
    created REAL NOT NULL,
    revoked REAL
);
"""

PREFIX = "mzn_"


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the secret): id, name, scope, its own rate limit (None: the server's)."""

    id: str
    name: str
    scope: str
    rate_per_minute: float | None
    created: float
    revoked: float | None

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "scope": self.scope, "rate_per_minute": self.rate_per_minute,
                "created": self.created, "revoked": self.revoked}


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.define(_SCHEMA)

    def create(self, scope: str, name: str | None = None, rate_per_minute: float | None = None) -> tuple[str, ApiKey]:
        """A new key: (the secret — shown once, not stored —, its record)."""
        if scope not in SCOPES:
            raise InvalidParameterError(f"scope must be one of {', '.join(SCOPES)}; got {scope!r}")
        if rate_per_minute is not None and not (isinstance(rate_per_minute, (int, float)) and rate_per_minute > 0):
            raise InvalidParameterError(f"rate_per_minute must be a positive number, got {rate_per_minute!r}")
        secret = PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(secrets.token_hex(4), name or scope, scope, rate_per_minute, time.time(), None)
        with self.store.transaction() as db:
            db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (key.id, key.name, key.scope, digest(secret), key.rate_per_minute, key.created, None))
        return secret, key

    def list(self) -> list[ApiKey]:
        rows = self.store.query("SELECT id, name, scope, rate_per_minute, created, revoked FROM api_keys "
                                "ORDER BY created")
        return [ApiKey(*r) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        with self.store.transaction() as db:
            changed = db.execute("UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked IS NULL",
                                 (time.time(), key_id)).rowcount
        keys = {k.id: k for k in self.list()}
        if key_id not in keys:
            raise InvalidParameterError(f"no API key with id {key_id!r}")
        if not changed:
            raise InvalidParameterError(f"API key {key_id!r} was already revoked")
        return keys[key_id]

    def authenticate(self, secret: str) -> ApiKey | None:
        """The live key with this secret, or None (unknown or revoked)."""
        if not secret.startswith(PREFIX):
            return None
        rows = self.store.query("SELECT id, name, scope, rate_per_minute, created, revoked FROM api_keys "
                                "WHERE hash = ? AND revoked IS NULL", (digest(secret),))
        return ApiKey(*rows[0]) if rows else None
