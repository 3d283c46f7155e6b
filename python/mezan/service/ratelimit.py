"""Token buckets: ``rate`` requests per minute, bursts up to ``rate`` — one per API key, and one per client
address for failed authentications."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: float  # seconds until the bucket is full again
    retry_after: float  # seconds until one token is available (0 when allowed)

    def headers(self) -> dict[str, str]:
        out = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
               "X-RateLimit-Reset": str(math.ceil(self.reset))}
        if not self.allowed:
            out["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return out


class RateLimiter:
    """Token buckets by name (a key id, a client address); refill continuously at rate / 60 tokens per second.

    A bucket untouched for a minute is full again, the same as no bucket: such buckets are dropped once
    more than ``keep`` are held, so a stream of new names (addresses) cannot grow memory without bound."""

    def __init__(self, clock=time.monotonic, keep: int = 10_000) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, time of last update)
        self._lock = threading.Lock()
        self._clock = clock
        self._keep = keep

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str, rate_per_minute: float) -> Decision:
        per_second = rate_per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (rate_per_minute, now))
            tokens = min(rate_per_minute, tokens + (now - last) * per_second)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > self._keep:
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60.0}
        return Decision(allowed, int(rate_per_minute), int(tokens), (rate_per_minute - tokens) / per_second,
                        0.0 if allowed else (1.0 - tokens) / per_second)


_TAKE = """
INSERT INTO rate_buckets (name, tokens, updated, allowed) VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    tokens = CASE WHEN {refill} >= 1.0 THEN {refill} - 1.0 ELSE {refill} END,
    allowed = CASE WHEN {refill} >= 1.0 THEN 1 ELSE 0 END,
    updated = ?
RETURNING tokens, allowed
""".format(refill="(CASE WHEN rate_buckets.tokens + (? - rate_buckets.updated) * ? > ? THEN ? "
                  "ELSE rate_buckets.tokens + (? - rate_buckets.updated) * ? END)")


class StoreRateLimiter:
    """The same token buckets as :class:`RateLimiter`, kept in the store's ``rate_buckets`` table, so that every
    replica on one database draws from one bucket per name: each :meth:`take` is one atomic statement (an upsert
    that refills, takes a token when there is one and returns what is left).

    Parameters
    ----------
    store : mezan.store.Store
        The store (its migrations made the table).
    kind : str
        What the buckets count (``"key"``, ``"auth"``): names of different kinds never share a bucket.
    clock : callable, optional
        Seconds since the epoch (every replica's clock: buckets are shared between machines).
    """

    PURGE_EVERY = 60.0  # seconds between two removals of the buckets untouched for a minute (full again: as none)

    def __init__(self, store, kind: str, clock=time.time) -> None:
        self.store, self.kind, self._clock = store, kind, clock
        self._purged = clock()

    def __len__(self) -> int:
        return int(self.store.query("SELECT COUNT(*) FROM rate_buckets WHERE name >= ? AND name < ?",
                                    (f"{self.kind}:", f"{self.kind};"))[0][0])

    def take(self, key: str, rate_per_minute: float) -> Decision:
        """Take a token from ``key``'s bucket (``rate_per_minute`` tokens, refilled continuously).

        Parameters
        ----------
        key : str
            The bucket's name (a key id, a client address).
        rate_per_minute : float
            The bucket's size and refill rate.

        Returns
        -------
        Decision
            Whether the request is allowed, and the rate-limit headers.
        """
        rate = float(rate_per_minute)
        per_second = rate / 60.0
        now = self._clock()
        refill = (now, per_second, rate, rate, now, per_second)
        with self.store.transaction() as db:
            first = rate >= 1.0  # a new bucket is full: its first request takes a token when it holds one
            tokens, allowed = db.execute(_TAKE, (f"{self.kind}:{key}", rate - 1.0 if first else rate, now, int(first),
                                                 *refill, *refill, *refill, *refill, now)).fetchone()
        if now - self._purged > self.PURGE_EVERY:
            self._purged = now
            with self.store.transaction() as db:
                db.execute("DELETE FROM rate_buckets WHERE updated < ?", (now - 60.0,))
        tokens, allowed = float(tokens), bool(allowed)
        return Decision(allowed, int(rate), max(0, int(tokens)), (rate - tokens) / per_second,
                        0.0 if allowed else (1.0 - tokens) / per_second)
