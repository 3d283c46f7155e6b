"""The service's settings: one record, every limit named, defaults a shared team server can start with."""

from __future__ import annotations

import contextlib
import ipaddress
import math
import os
import re
import sys
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
    token bucket unless the key sets its own. max_body_bytes: larger bodies get 413 (however they are
    framed); body_timeout: seconds a client has to send its whole body (else 408 and the connection is
    closed). max_time_limit: a request's time_limit — and each subproblem's of a composite — is capped to
    it (seconds). max_size: the largest problem per scope (QAP n, number of tasks, items, nodes, ...),
    larger gets 422 naming the limit (every subproblem of a composite is checked the same way).
    cors_origins: empty = CORS off (the default).

    Fairness: key_quota: solves (queued + running) one key may hold at once unless the key sets its own
    (``mezan keys create --quota``), more gets 429 with Retry-After; reserved_slots: the last queue slots,
    which a key already holding a solve cannot take (None: a quarter of queue_limit) — so one key never
    fills the queue for the others. auth_failures_per_minute: unknown keys and failed logins allowed per
    client address before 429. session_seconds: lifetime of a page login (``POST /login``).

    Watchdog: a solve still running ``stuck_grace_min`` or ``stuck_grace_factor`` x its time limit
    (the larger) past its time limit is failed and its worker replaced; health_busy_limit: /health
    answers 503 once no worker has been free for this long (None: max_time_limit + its grace).

    scheduler: a Dask scheduler address (``mezan serve --scheduler``): solves run on its workers (``workers`` is then
    how many are in flight at once); /health reports the cluster and is not ready while no worker is connected.

    Host names (against DNS rebinding: a web page whose name is made to point at this server must not reach it):
    host is the address the server is bound to (``mezan serve --host``); a request's ``Host`` header, and a login's
    ``Origin``, must name the server by one of :meth:`host_names` — the loopback names (localhost, 127.0.0.1, ::1),
    the bound address unless it is a wildcard (0.0.0.0, ::), and allowed_hosts (``--allowed-host``,
    ``$MEZAN_ALLOWED_HOSTS``) — or by the very address the connection reached (an address, never a name, so no
    rebinding), with any port; any other gets 400.

    Replicas (several servers on one store): job_lease: seconds a replica holds its queued and running jobs without
    renewing them (it renews them every job_lease / 3 s, at most every second); a replica silent for longer is taken
    for dead and another takes its jobs over (``mezan serve --job-lease``).
    """

    auth: bool = True
    workers: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    queue_limit: int = 64
    rate_per_minute: float = 120.0
    max_body_bytes: int = 8 * 1024 * 1024
    body_timeout: float = 30.0
    max_time_limit: float = 300.0
    max_size: dict[str, int] = field(default_factory=lambda: {"read": 0, "solve": 1000, "admin": 5000})
    cors_origins: tuple[str, ...] = ()
    recent_jobs: int = 20
    key_quota: int = 16
    reserved_slots: int | None = None
    auth_failures_per_minute: float = 20.0
    session_seconds: float = 1800.0
    stuck_grace_min: float = 5.0
    stuck_grace_factor: float = 0.5
    health_busy_limit: float | None = None
    scheduler: str | None = None
    host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    job_lease: float = 30.0

    def host_names(self) -> frozenset[str]:
        """The names a request's ``Host`` may give (normalised: lower case, no port, IPv6 without brackets)."""
        bound = () if normal_host(self.host) in WILDCARD_ADDRESSES else (normal_host(self.host),)
        return frozenset((*LOOPBACK_NAMES, *bound, *self.allowed_hosts))

    def host_allowed(self, name: str | None, local_address: str | None = None) -> bool:
        """Whether a request naming the server ``name`` (a normalised host, see :func:`host_of`) may be served;
        ``local_address`` is the address the connection reached (the ASGI scope's ``server``)."""
        if not name:
            return False
        if name in self.host_names():
            return True
        return local_address is not None and name == normal_host(local_address)

    def reserve(self) -> int:
        """Queue slots kept for keys that hold no solve yet."""
        return self.queue_limit // 4 if self.reserved_slots is None else self.reserved_slots

    def grace(self, time_limit: float) -> float:
        """How long past its time limit a solve may run before the watchdog calls it stuck."""
        return max(self.stuck_grace_min, self.stuck_grace_factor * time_limit)

    def busy_limit(self) -> float:
        """Seconds with no free worker after which /health reports not-ready."""
        if self.health_busy_limit is not None:
            return self.health_busy_limit
        return self.max_time_limit + self.grace(self.max_time_limit)

    def __post_init__(self) -> None:
        for name in ("workers", "queue_limit", "max_body_bytes", "key_quota"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(f"{name} must be a positive integer, got {value!r}")
        _positive("rate_per_minute", self.rate_per_minute)  # a token bucket needs a finite rate
        _positive("max_time_limit", self.max_time_limit, finite=False)
        for name in ("body_timeout", "auth_failures_per_minute", "session_seconds", "stuck_grace_min", "job_lease"):
            _positive(name, getattr(self, name))
        if self.health_busy_limit is not None:
            _positive("health_busy_limit", self.health_busy_limit)
        if (isinstance(self.stuck_grace_factor, bool) or not isinstance(self.stuck_grace_factor, (int, float))
                or not 0 <= self.stuck_grace_factor < math.inf):
            raise InvalidParameterError(f"stuck_grace_factor must be a number >= 0, got {self.stuck_grace_factor!r}")
        reserved = self.reserved_slots
        if reserved is not None and (isinstance(reserved, bool) or not isinstance(reserved, int)
                                     or not 0 <= reserved < self.queue_limit):
            raise InvalidParameterError(f"reserved_slots must be an integer from 0 to queue_limit - 1 "
                                        f"({self.queue_limit - 1}), got {reserved!r}")
        unknown = set(self.max_size) - set(SCOPES)
        if unknown:
            raise InvalidParameterError(f"max_size has unknown scopes {sorted(unknown)}; scopes: {', '.join(SCOPES)}")
        missing = [scope for scope in SCOPES if scope not in self.max_size]
        if missing:
            raise InvalidParameterError(f"max_size must give a limit for every scope ({', '.join(SCOPES)}); "
                                        f"missing: {', '.join(missing)}")
        for scope, limit in self.max_size.items():
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise InvalidParameterError(f"max_size[{scope!r}] must be an integer >= 0, got {limit!r}")
        if not isinstance(self.host, str) or not self.host.strip() or not _valid_name(normal_host(self.host)):
            raise InvalidParameterError(f"host must be a host name or an address to bind to, got {self.host!r}")
        if isinstance(self.allowed_hosts, str) or not isinstance(self.allowed_hosts, (tuple, list)):
            raise InvalidParameterError(f"allowed_hosts (--allowed-host, $MEZAN_ALLOWED_HOSTS) must be a list of host "
                                        f"names, got {self.allowed_hosts!r}")
        object.__setattr__(self, "allowed_hosts", tuple(allowed_host(name) for name in self.allowed_hosts))


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
"""Names of this machine that a web page elsewhere cannot take (a browser sends them only for its own machine)."""
WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")
"""Bind addresses that mean every interface: not a name a client gives."""
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


def normal_host(name: str) -> str:
    """A host name or address as compared: lower case, no trailing dot, an IPv6 address without brackets, in its
    compressed form (``0:0:0:0:0:0:0:1`` is ``::1``)."""
    name = name.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name
    mapped = getattr(address, "ipv4_mapped", None)  # a dual-stack socket's view of an IPv4 client: ::ffff:a.b.c.d
    return str(mapped or address)


def _valid_name(name: str) -> bool:
    """A DNS name (labels of letters, digits, hyphens and underscores) or an IP address."""
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    return 0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))


def _port(text: str) -> bool:
    """A port as a Host header gives it: ASCII digits, at most five, or nothing (``name:`` is allowed)."""
    return text == "" or (text.isascii() and text.isdigit() and len(text) <= 5)


def host_of(header: str | None) -> str | None:
    """The normalised host name of a ``Host`` header value or an authority (``name``, ``name:port``, ``[v6]``,
    ``[v6]:port``), or None when it is missing or malformed."""
    if not header or len(header) > 300:
        return None
    header = header.strip()
    if header.startswith("["):
        name, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and _port(rest[1:]))):
            return None
        try:
            return str(ipaddress.IPv6Address(name))
        except ValueError:
            return None
    name, colon, port = header.partition(":")
    if colon and not _port(port):
        return None
    name = normal_host(name)
    return name if _valid_name(name) else None


def allowed_host(name: object) -> str:
    """A configured host name (``--allowed-host``), normalised; refused by name when it is not a bare host name or
    address (no scheme, port, path or wildcard)."""
    text = name.strip() if isinstance(name, str) else ""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(text))
    found = None if ":" in text else host_of(text)
    if found is None:
        raise InvalidParameterError(f"allowed_hosts (--allowed-host, $MEZAN_ALLOWED_HOSTS): {name!r} is not a host "
                                    f"name or address (give it without scheme, port or path, e.g. "
                                    f"'mezan.example.org')")
    return found


def _positive(name: str, value: object, finite: bool = True) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= (
            math.inf if not finite else sys.float_info.max):
        raise InvalidParameterError(f"{name} must be a positive number, got {value!r}")
