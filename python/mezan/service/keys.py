"""API keys: created once and shown once, stored only as sha256 hashes in the MEZAN store; and the page's
login sessions.

A key is ``mzn_`` + 32 random bytes (URL-safe base64): with that much entropy a plain sha256 is a
safe hash (no dictionary to attack) and lets a request be authenticated with one indexed lookup.

A browser logs in once (``POST /login`` with the key as a form field) and gets a session cookie: a
random id, mapped to the key's id until it expires — in the store (:class:`StoreSessions`, what the service uses: a
session made on one replica works on every other, and survives a restart; only the id's sha256 is stored) or in one
process's memory (:class:`Sessions`) —, so the key itself is never in a URL, a link or a log line. A session stands
for its key only while the key is live (revoking the key ends its sessions at their next request).
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from dataclasses import dataclass

from mezan.errors import InvalidParameterError
from mezan.service.config import SCOPES
from mezan.store import Store

_COLUMNS = "id, name, scope, rate_per_minute, created, revoked, quota"

PREFIX = "mzn_"


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the secret): id, name, scope, its own rate limit and its own quota of queued +
    running solves (None: the server's)."""

    id: str
    name: str
    scope: str
    rate_per_minute: float | None
    created: float
    revoked: float | None
    quota: int | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "scope": self.scope, "rate_per_minute": self.rate_per_minute,
                "quota": self.quota, "created": self.created, "revoked": self.revoked}


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, store: Store) -> None:
        self.store = store  # its table is the store's (mezan.store.migrations, version 2)

    def create(self, scope: str, name: str | None = None, rate_per_minute: float | None = None,
               quota: int | None = None) -> tuple[str, ApiKey]:
        """A new key: (the secret — shown once, not stored —, its record)."""
        if scope not in SCOPES:
            raise InvalidParameterError(f"scope must be one of {', '.join(SCOPES)}; got {scope!r}")
        if rate_per_minute is not None and not (isinstance(rate_per_minute, (int, float))
                                                and not isinstance(rate_per_minute, bool)
                                                and 0 < rate_per_minute < math.inf):
            raise InvalidParameterError(f"rate_per_minute must be a positive number, got {rate_per_minute!r}")
        if quota is not None and (isinstance(quota, bool) or not isinstance(quota, int) or quota < 1):
            raise InvalidParameterError(f"quota must be a positive integer (solves queued or running at once), "
                                        f"got {quota!r}")
        secret = PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(secrets.token_hex(4), name or scope, scope, rate_per_minute, time.time(), None, quota)
        with self.store.transaction() as db:
            db.execute(f"INSERT INTO api_keys ({_COLUMNS}, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (key.id, key.name, key.scope, key.rate_per_minute, key.created, None, key.quota,
                        digest(secret)))
        return secret, key

    def list(self) -> list[ApiKey]:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created")
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
        rows = self.store.query(f"SELECT {_COLUMNS} FROM api_keys WHERE hash = ? AND revoked IS NULL",
                                (digest(secret),))
        return ApiKey(*rows[0]) if rows else None

    def live(self, key_id: str) -> ApiKey | None:
        """The key with this id if it is not revoked (a session's key, checked at every request)."""
        rows = self.store.query(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ? AND revoked IS NULL", (key_id,))
        return ApiKey(*rows[0]) if rows else None


class Sessions:
    """Login sessions of the page: random id -> (key id, expiry), in memory (a restart logs everyone out).

    At most ``limit`` sessions are kept; beyond that the one closest to expiry is dropped first."""

    def __init__(self, lifetime: float, limit: int = 10_000, clock=time.monotonic) -> None:
        self.lifetime, self.limit, self._clock = lifetime, limit, clock
        self._sessions: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def create(self, key_id: str) -> str:
        session = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._sessions = {s: v for s, v in self._sessions.items() if v[1] > now}
            while len(self._sessions) >= self.limit:
                del self._sessions[min(self._sessions, key=lambda s: self._sessions[s][1])]
            self._sessions[session] = (key_id, now + self.lifetime)
        return session

    def key_id(self, session: str) -> str | None:
        """The key id a live session stands for, or None (unknown or expired)."""
        with self._lock:
            entry = self._sessions.get(session)
            if entry is None:
                return None
            if entry[1] <= self._clock():
                del self._sessions[session]
                return None
            return entry[0]

    def drop(self, session: str) -> None:
        with self._lock:
            self._sessions.pop(session, None)


class StoreSessions:
    """Login sessions of the page in the store's ``sessions`` table: every replica on one database knows every
    session, and a restart logs no one out. Only the sha256 of a session's id is stored.

    Parameters
    ----------
    store : mezan.store.Store
        The store (its migrations made the table).
    lifetime : float
        Seconds a session lasts.
    clock : callable, optional
        Seconds since the epoch.
    """

    PURGE_EVERY = 60.0  # seconds between two removals of expired sessions

    def __init__(self, store: Store, lifetime: float, clock=time.time) -> None:
        self.store, self.lifetime, self._clock = store, lifetime, clock
        self._purged = 0.0

    def create(self, key_id: str) -> str:
        """A new session.

        Parameters
        ----------
        key_id : str
            The key the session stands for.

        Returns
        -------
        str
            The session's id (the cookie's value; only its sha256 is stored).
        """
        session = secrets.token_urlsafe(32)
        now = self._clock()
        with self.store.transaction() as db:
            if now - self._purged > self.PURGE_EVERY:
                self._purged = now
                db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            db.execute("INSERT INTO sessions (hash, key_id, expires) VALUES (?, ?, ?)",
                       (digest(session), key_id, now + self.lifetime))
        return session

    def key_id(self, session: str) -> str | None:
        """The key a live session stands for.

        Parameters
        ----------
        session : str
            The session's id (the cookie's value).

        Returns
        -------
        str or None
            The key's id, or None for an unknown or expired session.
        """
        rows = self.store.query("SELECT key_id FROM sessions WHERE hash = ? AND expires > ?",
                                (digest(session), self._clock()))
        return str(rows[0][0]) if rows else None

    def drop(self, session: str) -> None:
        """End a session (logging out).

        Parameters
        ----------
        session : str
            The session's id.
        """
        with self.store.transaction() as db:
            db.execute("DELETE FROM sessions WHERE hash = ?", (digest(session),))
