"""Who is asking: :class:`Auth` turns a request into its :class:`~mezan.service.keys.ApiKey` — a bearer
key for the API, a bearer key or a login session for the page — checks the key's scope and rate limit,
rate-limits failed authentications per client address, and sets the page's session cookie.

With ``config.auth`` off every caller is :data:`LOCAL`, an admin with no limits.

Before any of that, :class:`AllowedHosts` answers 400 to a request that names the server by a name it does not
have (its ``Host`` header: DNS rebinding, where a web page's own name is made to point at this server), and
:func:`same_site_origin` is the login form's check of a browser's ``Origin`` against the same names — never
against the request's own ``Host``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from mezan.service.config import ServiceConfig, host_of, scope_allows
from mezan.service.keys import ApiKey, KeyStore, Sessions, StoreSessions
from mezan.service.ratelimit import RateLimiter, StoreRateLimiter

LOCAL = ApiKey("local", "--no-auth", "admin", None, 0.0, None)
SESSION_COOKIE = "mezan_session"


def _local_address(scope) -> str | None:
    """The address the connection reached (the ASGI ``server``: the socket's own address under uvicorn)."""
    server = scope.get("server")
    return str(server[0]) if server and server[0] is not None else None


def host_refusal(config: ServiceConfig, header: str | None) -> str:
    """Why a ``Host`` header is refused, in one line naming the way to allow it."""
    names = ", ".join(sorted(config.host_names()))
    if not header:
        return f"missing Host header: name this server by one of {names}"
    shown = header if len(header) <= 80 else header[:80] + "..."
    name = host_of(header)
    if name is None:
        return f"malformed Host header {shown!r}: name this server by one of {names}"
    return (f"Host {shown!r} is not a name of this server (it answers to {names} and to the address a connection "
            f"reaches); to serve it by that name, start it with --allowed-host {name} (or $MEZAN_ALLOWED_HOSTS). "
            f"This check keeps other sites' web pages out (DNS rebinding).")


class AllowedHosts:
    """ASGI middleware: a request whose ``Host`` header does not name this server by one of its names
    (:meth:`ServiceConfig.host_allowed`) gets 400 with a message saying why and how to allow the name."""

    def __init__(self, app, config: ServiceConfig) -> None:
        self.app, self.config = app, config

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        given = [value.decode("latin-1") for name, value in scope.get("headers") or [] if name == b"host"]
        header = given[0] if len(given) == 1 else None  # two Host headers: which one the app reads is not clear
        if self.config.host_allowed(host_of(header), _local_address(scope)):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        detail = host_refusal(self.config, header) if len(given) < 2 else "more than one Host header"
        await JSONResponse({"detail": detail}, status_code=400)(scope, receive, send)


def same_site_origin(config: ServiceConfig, request: Request) -> bool:
    """Whether a browser's ``Origin`` header (when it sends one) names this server by one of its names: a page of
    this server, not of another site (``null``, another scheme or an unknown name is not)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        return False
    return config.host_allowed(host_of(parts.netloc), _local_address(request.scope))


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return header[7:].strip() or None


def missing_key(request: Request, page_route: bool = False) -> HTTPException:
    """401 for a request without a key — or, for a browser on the page, 303 to the login form."""
    if page_route and "text/html" in request.headers.get("accept", ""):  # a browser: to the login form
        return HTTPException(303, "log in at /login", headers={"Location": "/login"})
    return HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'"
                              + (" or log in at /login" if page_route else ""),
                         headers={"WWW-Authenticate": "Bearer"})


class Auth:
    """Authentication and admission of callers against ``keys`` and ``sessions``: ``limiter`` holds each
    key's rate limit, ``failures`` the failed authentications of each client address."""

    def __init__(self, config: ServiceConfig, keys: KeyStore, sessions: Sessions | StoreSessions,
                 limiter: RateLimiter | StoreRateLimiter, failures: RateLimiter | StoreRateLimiter) -> None:
        self.config, self.keys, self.sessions, self.limiter, self.failures = config, keys, sessions, limiter, failures

    def failed_authentication(self, request: Request, message: str) -> HTTPException:
        """401 for an unknown or revoked key — or 429 once this client address has failed too often."""
        address = request.client.host if request.client else "unknown"
        decision = self.failures.take(address, self.config.auth_failures_per_minute)
        if not decision.allowed:
            return HTTPException(429, f"too many failed authentications from {address}: retry later",
                                 headers={"Retry-After": decision.headers()["Retry-After"]})
        return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})

    def identify(self, request: Request, secret: str) -> ApiKey:
        """The live key with this secret (else 401, or 429 after too many failures from this address)."""
        key = self.keys.authenticate(secret)
        if key is None:
            raise self.failed_authentication(request, "unknown or revoked API key")
        return key

    def admitted(self, request: Request, key: ApiKey, scope: str) -> ApiKey:
        """The key may use a route of ``scope`` and is within its rate limit (its headers go on the response)."""
        if not scope_allows(key.scope, scope):
            raise HTTPException(403, f"this route needs scope {scope!r}; the key {key.id} has {key.scope!r}")
        decision = self.limiter.take(key.id, key.rate_per_minute or self.config.rate_per_minute)
        request.state.rate_headers = decision.headers()
        if not decision.allowed:
            raise HTTPException(429, f"rate limit of {decision.limit} requests per minute exceeded",
                                headers=decision.headers())
        return key

    def require(self, scope: str):
        """A FastAPI dependency: the caller's bearer key, admitted to a route of ``scope``."""
        def check(request: Request) -> ApiKey:
            if not self.config.auth:
                return LOCAL
            secret = bearer(request)
            if not secret:
                raise missing_key(request)
            return self.admitted(request, self.identify(request, secret), scope)
        return check

    def page_user(self, request: Request) -> ApiKey:
        """The page's caller: a bearer key, else the key of a live login session."""
        if not self.config.auth:
            return LOCAL
        if bearer(request):
            return self.require("read")(request)
        session = request.cookies.get(SESSION_COOKIE)
        key_id = self.sessions.key_id(session) if session else None
        key = self.keys.live(key_id) if key_id else None
        if key is None:
            raise missing_key(request, page_route=True)
        return self.admitted(request, key, "read")

    def logged_in(self, request: Request, key: ApiKey, target: str) -> Response:
        """A redirect to ``target`` that sets a new session cookie for ``key``."""
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, self.sessions.create(key.id), max_age=int(self.config.session_seconds),
                            path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response

    def logged_out(self, request: Request) -> Response:
        """A redirect to the login form that ends this request's session and deletes its cookie."""
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            self.sessions.drop(session)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response
