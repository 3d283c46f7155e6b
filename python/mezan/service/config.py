"""The service's settings: one record, every limit named, defaults a shared team server can start with."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mezan.errors import InvalidParameterError

SCOPES = ("read", "solve", "admin")
"""Key scopes, each allowing what the ones before it allow: read (GET routes), solve (+ solves and
jobs), admin (+ every route)."""


def scope_allows(scope: str, needed: str) -> bool:
    return SCOPES.index(scope) >= SCOPES.index(needed)


@dataclass(frozen=True)
class ServiceConfig:
    """Limits and switches of ``mezan serve`` (all enforced per request).

    auth: API keys required (``mezan serve --no-auth`` turns it off for local use: every request is
    then an admin and unlimited). workers: solver threads of the bounded pool; queue_limit: solves
    waiting beyond them before the server answers 503 with Retry-After. rate_per_minute: each key's
    token bucket unless the key sets its own. max_body_bytes: larger bodies get 413.
    max_time_limit: a request's time_limit is capped to it (seconds). max_size: the largest problem per
    scope (QAP n, number of tasks, items, nodes, ...), larger gets 422 naming the limit.
    cors_origins: empty = CORS off (the default).
    """

    auth: bool = True
    workers: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    queue_limit: int = 64
    rate_per_minute: float = 120.0
    max_body_bytes: int = 8 * 1024 * 1024
    max_time_limit: float = 300.0
    max_size: dict[str, int] = field(default_factory=lambda: {"read": 0, "solve": 1000, "admin": 5000})
    cors_origins: tuple[str, ...] = ()
    recent_jobs: int = 20

    def __post_init__(self) -> None:
        for name in ("workers", "queue_limit", "max_body_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(f"{name} must be a positive integer, got {value!r}")
        for name in ("rate_per_minute", "max_time_limit"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise InvalidParameterError(f"{name} must be a positive number, got {value!r}")
        unknown = set(self.max_size) - set(SCOPES)
        if unknown:
            raise InvalidParameterError(f"max_size has unknown scopes {sorted(unknown)}; scopes: {', '.join(SCOPES)}")
