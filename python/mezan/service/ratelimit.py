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
