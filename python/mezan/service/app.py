"""The FastAPI application: routes, authentication, rate limits and quotas, body and problem size limits,
metrics, security headers and error handling. ``create_app(config, store)`` builds one; ``mezan serve``
runs it.

Hostile input never crashes, hangs, bypasses a limit or reaches another key's data: every bad value is a
4xx naming the field (an unexpected error is a bare 500 "internal error"); a body over the limit is 413
however it is framed and one that does not arrive in time is 408; a job is visible only to the key that
created it (and admins); one key cannot hold more than its quota of solves nor the queue's reserved slots;
a synchronous solve whose client went away is stopped (or never started); keys never appear in links or
logs, and failed authentications are rate-limited per client address.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import Body, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from mezan import __version__, registry
from mezan.errors import MezanError
from mezan.service import page
from mezan.service.config import ServiceConfig, scope_allows
from mezan.service.jobs import Job, JobNotFound, JobQueue, QueueFull, QuotaExceeded, SolverStuck
from mezan.service.keys import ApiKey, KeyStore, Sessions
from mezan.service.metrics import Metrics
from mezan.service.ratelimit import RateLimiter
from mezan.service.routes import ROUTE_TYPES, Admission, Work, parse
from mezan.service.schemas import (
    ERRORS,
    EXAMPLES,
    JOB_ERRORS,
    SOLVE_ERRORS,
    JobCreated,
    QAPRequest,
    QAPResponse,
    wire_model,
)
from mezan.store import Store

log = logging.getLogger(__name__)
LOCAL = ApiKey("local", "--no-auth", "admin", None, 0.0, None)
SESSION_COOKIE = "mezan_session"
DISCONNECT_POLL = 0.2  # seconds between two checks that a synchronous solve's client is still there
WIRE_ROUTES = ("workflow", "allocflow", "graphflow", "dualflow", "evoflow", "mezan")
DOCS_CSP = ("default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'unsafe-inline' "
            "https://cdn.jsdelivr.net https://fonts.googleapis.com; font-src https://fonts.gstatic.com; img-src 'self' "
            "data: https://fastapi.tiangolo.com https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; "
            "frame-ancestors 'none'")


# ---- keys never in logs -----------------------------------------------------------------------------
_KEY_PARAMETER = re.compile(r"(?i)((?:[?&;]|%3F|%26)key=)[^&\s\"]*")
_SECRET = re.compile(r"mzn_[A-Za-z0-9_\-]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")


def redact(text: str) -> str:
    """``text`` with every API key, ``key=`` query value and bearer token replaced by ``[redacted]``."""
    text = _KEY_PARAMETER.sub(r"\1[redacted]", text)
    text = _SECRET.sub("mzn_[redacted]", text)
    return _BEARER.sub(r"\1[redacted]", text)


class RedactKeys(logging.Filter):
    """A logging filter that redacts keys from a record's message and arguments (uvicorn's access log line
    holds the path with its query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install_log_redaction() -> None:
    """Put :class:`RedactKeys` on uvicorn's loggers and this package's (idempotent; uvicorn's own logging
    configuration keeps a logger's filters)."""
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "mezan"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactKeys) for f in logger.filters):
            logger.addFilter(RedactKeys())


# ---- ASGI middleware ----------------------------------------------------------------------------------
class _Refused(Exception):
    """Raised inside ``receive`` to abandon a body that is too large or too slow."""


class BodyLimit:
    """ASGI middleware: 413 for a body over ``limit`` bytes — by Content-Length or as it streams in, chunked or
    not — and 408 for one that has not fully arrived ``timeout`` seconds after the request started; both close
    the connection. When the limit is crossed inside the app's body read, the app's own answer (a parse error)
    is dropped and replaced by ours."""

    def __init__(self, app, limit: int, timeout: float) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._too_large(send)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        state = {"seen": 0, "complete": False, "refusal": None, "started": False}

        async def guarded_receive():
            if state["complete"]:  # after the body: disconnect checks, no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                state["refusal"] = self._too_slow
                raise _Refused from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                state["complete"] = True
            state["seen"] += len(message.get("body", b""))
            if state["seen"] > self.limit:
                state["refusal"] = self._too_large
                raise _Refused
            return message

        async def guarded_send(message):
            if state["refusal"] is not None:  # the app's answer to a body it could not read: replaced below
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except _Refused:
            pass
        if state["refusal"] is not None and not state["started"]:
            await state["refusal"](send)

    async def _too_large(self, send):
        await _answer(send, 413, f"request body larger than the server's limit of {self.limit} bytes")

    async def _too_slow(self, send):
        await _answer(send, 408, f"request body not received within {self.timeout:g} s")


async def _answer(send, status: int, detail: str) -> None:
    """A JSON error sent straight from the middleware, closing the connection (the rest of the body is unread)."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class Observe:
    """ASGI middleware around everything: metrics by route template; the rate-limit headers of the request's
    key and the security headers on every response (``nosniff`` everywhere; on HTML, a Content-Security-Policy,
    no framing, no referrer, no caching); and a plain 500 ``internal error`` — never a stack trace — for an
    error nothing else handled."""

    def __init__(self, app, metrics: Metrics, docs_paths: tuple[str, ...]) -> None:
        self.app, self.metrics, self.docs_paths = app, metrics, docs_paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        outcome = {"status": 500, "started": False}

        async def observed_send(message):
            if message["type"] == "http.response.start":
                outcome["status"], outcome["started"] = message["status"], True
                headers = MutableHeaders(scope=message)
                for name, value in (scope.get("state") or {}).get("rate_headers", {}).items():
                    headers.setdefault(name, value)
                self._secure(scope, headers)
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception:  # never a stack trace in a response
            log.exception("unhandled error on %s", scope.get("path"))
            if not outcome["started"]:
                await JSONResponse({"detail": "internal error"}, status_code=500)(scope, receive, observed_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(route, scope.get("method", ""), outcome["status"], time.perf_counter() - start)

    def _secure(self, scope, headers: MutableHeaders) -> None:
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if headers.get("content-type", "").startswith("text/html"):
            docs = scope.get("path") in self.docs_paths
            headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else page.CSP)
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault("Referrer-Policy", "no-referrer")
            headers.setdefault("Cache-Control", "no-store")


# ---- the application ---------------------------------------------------------------------------------
def create_app(config: ServiceConfig | None = None, store: Store | None = None) -> FastAPI:
    config = config or ServiceConfig()
    store = store or Store()
    install_log_redaction()
    metrics = Metrics()
    keys = KeyStore(store)
    limiter = RateLimiter()
    failures = RateLimiter()  # failed authentications, by client address
    sessions = Sessions(config.session_seconds)
    queue = JobQueue(store, config.workers, config.queue_limit, on_finish=metrics.solved, reserved=config.reserve(),
                     grace=config.grace)
    from mezan.meta import MetaFlow

    metaflow = MetaFlow(store)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        queue.open()
        yield
        queue.close()  # queued jobs never start; running ones stop and keep their best; all marked "interrupted"

    app = FastAPI(title="MEZAN", lifespan=lifespan, version=__version__,
                  description="Meta-learning optimization: QAPFlow, WorkFlow, AllocFlow, GraphFlow, DualFlow, "
                              "EvoFlow and composite requests (C2SC). Send `Authorization: Bearer <key>` "
                              "(`mezan keys create`); `/health` is open; a browser logs in at `/login`.")
    app.state.config, app.state.store, app.state.queue, app.state.keys, app.state.metrics = (
        config, store, queue, keys, metrics)
    app.state.sessions = sessions
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(BodyLimit, limit=config.max_body_bytes, timeout=config.body_timeout)
    app.add_middleware(Observe, metrics=metrics,
                       docs_paths=tuple(p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
                                        if p))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": _fields(exc.errors())}, status_code=422)

    @app.exception_handler(MezanError)
    async def refused(request: Request, exc: MezanError):
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, JobNotFound) else 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (e.g. not UTF-8): malformed JSON
            return JSONResponse({"detail": [{"field": "body", "message": f"malformed JSON body: {exc.detail}"}]},
                                status_code=422)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    # ---- who is asking ----------------------------------------------------------------------------
    def failed_authentication(request: Request, message: str) -> HTTPException:
        """401 for an unknown or revoked key — or 429 once this client address has failed too often."""
        address = request.client.host if request.client else "unknown"
        decision = failures.take(address, config.auth_failures_per_minute)
        if not decision.allowed:
            return HTTPException(429, f"too many failed authentications from {address}: retry later",
                                 headers={"Retry-After": decision.headers()["Retry-After"]})
        return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})

    def identify(request: Request, secret: str) -> ApiKey:
        key = keys.authenticate(secret)
        if key is None:
            raise failed_authentication(request, "unknown or revoked API key")
        return key

    def admitted(request: Request, key: ApiKey, scope: str) -> ApiKey:
        """The key may use a route of ``scope`` and is within its rate limit (its headers go on the response)."""
        if not scope_allows(key.scope, scope):
            raise HTTPException(403, f"this route needs scope {scope!r}; the key {key.id} has {key.scope!r}")
        decision = limiter.take(key.id, key.rate_per_minute or config.rate_per_minute)
        request.state.rate_headers = decision.headers()
        if not decision.allowed:
            raise HTTPException(429, f"rate limit of {decision.limit} requests per minute exceeded",
                                headers=decision.headers())
        return key

    def missing_key(request: Request, page_route: bool = False) -> HTTPException:
        if page_route and "text/html" in request.headers.get("accept", ""):  # a browser: to the login form
            return HTTPException(303, "log in at /login", headers={"Location": "/login"})
        return HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'"
                                  + (" or log in at /login" if page_route else ""),
                             headers={"WWW-Authenticate": "Bearer"})

    def bearer(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        return header[7:].strip() or None

    def require(scope: str):
        def check(request: Request) -> ApiKey:
            if not config.auth:
                return LOCAL
            secret = bearer(request)
            if not secret:
                raise missing_key(request)
            return admitted(request, identify(request, secret), scope)
        return check

    def page_user(request: Request) -> ApiKey:
        """The page's caller: a bearer key, else the key of a live login session."""
        if not config.auth:
            return LOCAL
        if bearer(request):
            return require("read")(request)
        session = request.cookies.get(SESSION_COOKIE)
        key_id = sessions.key_id(session) if session else None
        key = keys.live(key_id) if key_id else None
        if key is None:
            raise missing_key(request, page_route=True)
        return admitted(request, key, "read")

    def logged_in(request: Request, key: ApiKey, target: str) -> Response:
        """A redirect to ``target`` that sets a new session cookie for ``key``."""
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, sessions.create(key.id), max_age=int(config.session_seconds), path="/",
                            httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response

    solve_key, read_key = Depends(require("solve")), Depends(require("read"))

    # ---- admission ----------------------------------------------------------------------------------
    def admission(key: ApiKey) -> Admission:
        """The size and time check of this caller, for a direct request and for each composite subproblem."""
        limit = config.max_size.get(key.scope, 0) if config.auth else max(config.max_size.values())
        return Admission(limit, key.scope, config.max_time_limit)

    def admit(route: str, body: dict[str, Any], key: ApiKey) -> Work:
        return parse(route, body, admit=admission(key), metaflow=metaflow)

    def enqueue(work: Work, key: ApiKey, job: bool = False):
        quota = (key.quota or config.key_quota) if config.auth else None
        try:
            return queue.submit(work, job=job, owner=key.id, quota=quota)
        except QuotaExceeded as exc:
            raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
        except QueueFull as exc:
            raise HTTPException(503, f"server busy: {exc}", headers={"Retry-After": str(queue.retry_after())}) from None

    async def run_now(work: Work, key: ApiKey, request: Request) -> dict[str, Any]:
        """Run a solve for a waiting client; if the client goes away the solve is dropped (queued) or stopped."""
        _, future = enqueue(work, key)
        waiting = asyncio.wrap_future(future)
        while not waiting.done():
            await asyncio.wait({waiting}, timeout=DISCONNECT_POLL)
            if not waiting.done() and await request.is_disconnected():
                queue.abandon(future)
                waiting.add_done_callback(lambda f: f.cancelled() or f.exception())  # nobody will read it
                return Response(status_code=499)  # nginx's "client closed request"; nobody receives it
        if waiting.cancelled():
            raise HTTPException(503, "the server is shutting down", headers={"Retry-After": "5"})
        try:
            return waiting.result()
        except SolverStuck:
            raise HTTPException(504, "solver did not stop within its budget (time limit + grace); the server "
                                     "replaced its worker") from None
        except MezanError as exc:
            raise HTTPException(422, str(exc)) from None
        except Exception:
            raise HTTPException(500, "internal error") from None  # logged by the worker

    # ---- solve routes -------------------------------------------------------------------------------
    @app.post("/qapflow/solve", response_model=QAPResponse, responses=SOLVE_ERRORS, tags=["solve"])
    async def qapflow_solve(request: Request, body: QAPRequest, key: ApiKey = solve_key):
        """Solve a quadratic assignment problem ``min sum A[i,j] B[p(i),p(j)]`` with a QAPFlow mode."""
        return await run_now(admit("qapflow", body.model_dump(), key), key, request)

    models: dict[str, type[BaseModel]] = {"qapflow": QAPRequest}

    def wire_route(route: str) -> None:
        model = models[route] = wire_model(route, ROUTE_TYPES[route])

        async def endpoint(request, body, key: ApiKey = solve_key) -> dict[str, Any]:
            return await run_now(admit(route, body.model_dump(exclude_none=True), key), key, request)

        endpoint.__annotations__ = {"request": Request, "body": model, "key": ApiKey, "return": dict[str, Any]}

        endpoint.__doc__ = (f"Solve a {' / '.join(ROUTE_TYPES[route])} problem given in its wire form "
                            f"(see the example and the README).")
        app.post(f"/{route}/solve", responses=SOLVE_ERRORS, tags=["solve"], name=f"{route}_solve")(endpoint)

    for route in WIRE_ROUTES:
        wire_route(route)

    # ---- jobs ---------------------------------------------------------------------------------------
    def validated(route: Any, body: dict[str, Any]) -> dict[str, Any]:
        """A job's body checked by the same model as its synchronous route (so the same 422s)."""
        if not isinstance(route, str) or route not in ROUTE_TYPES:
            raise HTTPException(422, [{"field": "body.route", "message": f"route must be one of "
                                                                          f"{', '.join(ROUTE_TYPES)}; got {route!r}"}])
        try:
            checked = models[route].model_validate(body)
        except ValidationError as exc:
            raise HTTPException(422, _fields(exc.errors(), prefix=("body",))) from None
        return checked.model_dump() if route == "qapflow" else checked.model_dump(exclude_none=True)

    def own_job(job_id: str, key: ApiKey) -> Job:
        """The job if this key may see it: its creator's or an admin's; anyone else gets the 404 of a job that
        does not exist (so ids do not reveal that they exist)."""
        job = queue.get(job_id)
        if key.scope != "admin" and job.owner != key.id:
            raise JobNotFound(f"no job with id {job_id!r}")
        return job

    @app.post("/jobs", response_model=JobCreated, status_code=202, responses=ERRORS, tags=["jobs"])
    async def submit_job(body: dict[str, Any] = Body(openapi_examples={"qapflow": {"value": {
            "route": "qapflow", **EXAMPLES["qapflow"]}}}), key: ApiKey = solve_key):
        """Run any solve body asynchronously: the body plus ``"route"`` (qapflow, workflow, allocflow,
        graphflow, dualflow, evoflow or mezan). The job is visible to this key (and admins) only."""
        body = dict(body)
        route = body.pop("route", None)
        work = admit(route, validated(route, body), key)
        job_id, _ = enqueue(work, key, job=True)
        return {"id": job_id, "status": "queued"}

    @app.get("/jobs/{job_id}", responses=JOB_ERRORS, tags=["jobs"])
    async def job_status(job_id: str, key: ApiKey = read_key) -> dict[str, Any]:
        """Status, progress (best objective so far, elapsed), the anytime curve and the result."""
        return own_job(job_id, key).to_dict()

    @app.delete("/jobs/{job_id}", responses=JOB_ERRORS, tags=["jobs"])
    async def job_cancel(job_id: str, key: ApiKey = solve_key) -> dict[str, Any]:
        """Cancel a job; a running one stops and keeps its best-so-far as its result."""
        own_job(job_id, key)
        job = await asyncio.to_thread(queue.cancel, job_id)
        return job.to_dict()

    @app.get("/jobs", responses=ERRORS, tags=["jobs"])
    async def job_list(key: ApiKey = read_key) -> list[dict[str, Any]]:
        """This key's most recent jobs (an admin's: everyone's), newest first."""
        owner = None if key.scope == "admin" else key.id
        return [j.to_dict() for j in queue.recent(config.recent_jobs, owner=owner)]

    # ---- service ------------------------------------------------------------------------------------
    @app.get("/health", tags=["service"])
    async def health() -> JSONResponse:
        """Liveness and readiness: the store answers, every solver worker is alive, and one has been free
        recently (503 otherwise, with the reasons). Stuck solves whose workers were replaced are counted."""
        try:
            store.query("SELECT 1")
            store_ok = True
        except Exception:
            store_ok = False
        alive, busy = queue.workers_alive(), queue.busy_for()
        reasons = ([] if store_ok else ["the store does not answer"])
        if alive < config.workers:
            reasons.append(f"{config.workers - alive} of {config.workers} workers lost")
        if busy > config.busy_limit():
            reasons.append(f"no worker free for {busy:.0f} s")
        ready = not reasons
        return JSONResponse({"status": "ok" if ready else "degraded", "store": store_ok, "workers": alive,
                             "workers_expected": config.workers, "workers_stuck": queue.workers_stuck(),
                             "workers_replaced": queue.replaced_stuck + queue.replaced_lost,
                             "queue_depth": queue.depth(), "in_flight": queue.in_flight(),
                             "busy_for": round(busy, 3), "reasons": reasons, "version": __version__},
                            status_code=200 if ready else 503)

    @app.get("/metrics", tags=["service"], response_class=Response, responses=ERRORS)
    async def prometheus(key: ApiKey = read_key) -> Response:
        """Prometheus text exposition."""
        return Response(metrics.render(queue.depth(), queue.in_flight(), queue.workers_stuck()),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/solvers", tags=["service"], responses=ERRORS)
    async def solvers(key: ApiKey = read_key) -> dict[str, Any]:
        """Registered solvers by problem type, and MetaFlow's global Elo ratings."""
        by_type: dict[str, list[dict[str, str]]] = {}
        for s in registry.solvers():
            by_type.setdefault(s.problem_type, []).append({"name": s.name, "description": s.description})
        ratings = {s: {"rating": r, "games": g} for s, (r, g) in metaflow.ratings().items()}
        return {"solvers": by_type, "ratings": ratings}

    # ---- the page -----------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, tags=["service"], responses=ERRORS)
    async def home(request: Request, job: str | None = None) -> Response:
        """The live page: this key's recent jobs, the anytime curve of one (``?job=ID``), MetaFlow's ratings. A
        browser logs in at ``/login``; an old ``?key=`` link logs in and redirects to the same page without it."""
        secret = request.query_params.get("key")
        if secret is not None:
            key = admitted(request, identify(request, secret), "read") if config.auth else LOCAL
            return logged_in(request, key, "/" + (f"?{urlencode({'job': job})}" if job else ""))
        key = page_user(request)
        owner = None if key.scope == "admin" else key.id
        return HTMLResponse(page.render(queue, metaflow, selected=job, limit=config.recent_jobs, owner=owner,
                                        logout=SESSION_COOKIE in request.cookies))

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_form() -> HTMLResponse:
        return HTMLResponse(page.login())

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        """Trade a key (form field ``key``) for a session cookie: HttpOnly, SameSite=Strict, short-lived."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
            raise HTTPException(403, "log in from this server's own /login page")
        try:
            form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=8)
        except ValueError:  # more fields than a log-in form has
            form = {}
        secret = (form.get("key") or [""])[0].strip()
        if not config.auth:
            return logged_in(request, LOCAL, "/")
        if not secret:
            return HTMLResponse(page.login("enter an API key"), status_code=400)
        try:
            key = admitted(request, identify(request, secret), "read")
        except HTTPException as exc:
            return HTMLResponse(page.login(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)
        return logged_in(request, key, "/")

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            sessions.drop(session)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    return app


def _fields(errors, prefix: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Pydantic's errors as [{"field": "body.seed", "message": ...}] (never the offending input echoed)."""
    return [{"field": ".".join(str(p) for p in (*prefix, *e.get("loc", ()))), "message": e.get("msg", "invalid")}
            for e in errors]
