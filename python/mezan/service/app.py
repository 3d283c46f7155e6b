"""The FastAPI application: routes, authentication, rate limits, body and problem size limits,
metrics and error handling. ``create_app(config, store)`` builds one; ``mezan serve`` runs it."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Body, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mezan import __version__, registry
from mezan.errors import MezanError
from mezan.service import page
from mezan.service.config import ServiceConfig, scope_allows
from mezan.service.jobs import JobNotFound, JobQueue, QueueFull
from mezan.service.keys import ApiKey, KeyStore
from mezan.service.metrics import Metrics
from mezan.service.ratelimit import RateLimiter
from mezan.service.routes import ROUTE_TYPES, Work, parse
from mezan.service.schemas import ERRORS, EXAMPLES, JOB_ERRORS, JobCreated, QAPRequest, QAPResponse, wire_model
from mezan.store import Store

log = logging.getLogger(__name__)
LOCAL = ApiKey("local", "--no-auth", "admin", None, 0.0, None)


class BodyLimit:
    """ASGI middleware: 413 for a body over ``limit`` bytes, by Content-Length or as it streams in."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._refuse(send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send):
        body = b'{"detail":"request body larger than the server\'s limit of %d bytes"}' % self.limit
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def _route_label(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")


def create_app(config: ServiceConfig | None = None, store: Store | None = None) -> FastAPI:
    config = config or ServiceConfig()
    store = store or Store()
    metrics = Metrics()
    keys = KeyStore(store)
    limiter = RateLimiter()
    queue = JobQueue(store, config.workers, config.queue_limit, on_finish=metrics.solved)
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
                              "(`mezan keys create`); `/health` is open.")
    app.state.config, app.state.store, app.state.queue, app.state.keys, app.state.metrics = (
        config, store, queue, keys, metrics)
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type"])

    @app.middleware("http")
    async def observe(request: Request, call_next):
        start = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:  # never a stack trace in a response
            log.exception("unhandled error on %s", request.url.path)
            response = JSONResponse({"detail": "internal error"}, status_code=500)
        for name, value in getattr(request.state, "rate_headers", {}).items():
            response.headers.setdefault(name, value)
        metrics.observe(_route_label(request), request.method, response.status_code, time.perf_counter() - start)
        return response

    app.add_middleware(BodyLimit, limit=config.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        detail = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "invalid")}
                  for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(MezanError)
    async def refused(request: Request, exc: MezanError):
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, JobNotFound) else 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (e.g. not UTF-8): malformed JSON
            return JSONResponse({"detail": [{"field": "body", "message": f"malformed JSON body: {exc.detail}"}]},
                                status_code=422)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    def require(scope: str, *, query_key: bool = False):
        def check(request: Request) -> ApiKey:
            if not config.auth:
                return LOCAL
            header = request.headers.get("authorization", "")
            secret = header[7:].strip() if header.lower().startswith("bearer ") else None
            if secret is None and query_key:
                secret = request.query_params.get("key")
            if not secret:
                raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'",
                                    headers={"WWW-Authenticate": "Bearer"})
            key = keys.authenticate(secret)
            if key is None:
                raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
            if not scope_allows(key.scope, scope):
                raise HTTPException(403, f"this route needs scope {scope!r}; the key {key.id} has {key.scope!r}")
            decision = limiter.take(key.id, key.rate_per_minute or config.rate_per_minute)
            request.state.rate_headers = decision.headers()
            if not decision.allowed:
                raise HTTPException(429, f"rate limit of {decision.limit} requests per minute exceeded",
                                    headers=decision.headers())
            return key
        return check

    solve_key, read_key = Depends(require("solve")), Depends(require("read"))
    page_key = Depends(require("read", query_key=True))

    def admit(route: str, body: dict[str, Any], key: ApiKey) -> Work:
        work = parse(route, body, max_time_limit=config.max_time_limit, metaflow=metaflow)
        limit = config.max_size.get(key.scope, 0) if config.auth else max(config.max_size.values())
        what, size = work.size
        if size > limit:
            raise HTTPException(422, f"problem too large: {what} = {size} exceeds the limit of {limit} for scope "
                                     f"{key.scope!r}")
        return work

    async def run_now(work: Work) -> dict[str, Any]:
        try:
            _, future = queue.submit(work)
        except QueueFull as exc:
            raise HTTPException(503, f"server busy: {exc}", headers={"Retry-After": str(queue.retry_after())}) from None
        try:
            return await asyncio.wrap_future(future)
        except MezanError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.post("/qapflow/solve", response_model=QAPResponse, responses=ERRORS, tags=["solve"])
    async def qapflow_solve(body: QAPRequest, key: ApiKey = solve_key):
        """Solve a quadratic assignment problem ``min sum A[i,j] B[p(i),p(j)]`` with a QAPFlow mode."""
        return await run_now(admit("qapflow", body.model_dump(), key))

    def wire_route(route: str) -> None:
        model = wire_model(route, ROUTE_TYPES[route])

        async def endpoint(body, key: ApiKey = solve_key) -> dict[str, Any]:
            return await run_now(admit(route, body.model_dump(exclude_none=True), key))

        endpoint.__annotations__ = {"body": model, "key": ApiKey, "return": dict[str, Any]}

        endpoint.__doc__ = (f"Solve a {' / '.join(ROUTE_TYPES[route])} problem given in its wire form "
                            f"(see the example and the README).")
        app.post(f"/{route}/solve", responses=ERRORS, tags=["solve"], name=f"{route}_solve")(endpoint)

    for route in ("workflow", "allocflow", "graphflow", "dualflow", "evoflow", "mezan"):
        wire_route(route)

    @app.post("/jobs", response_model=JobCreated, status_code=202, responses=ERRORS, tags=["jobs"])
    async def submit_job(body: dict[str, Any] = Body(openapi_examples={"qapflow": {"value": {
            "route": "qapflow", **EXAMPLES["qapflow"]}}}), key: ApiKey = solve_key):
        """Run any solve body asynchronously: the body plus ``"route"`` (qapflow, workflow, allocflow,
        graphflow, dualflow, evoflow or mezan)."""
        body = dict(body)
        route = body.pop("route", None)
        if route not in ROUTE_TYPES:
            raise HTTPException(422, [{"field": "body.route", "message": f"route must be one of "
                                                                          f"{', '.join(ROUTE_TYPES)}; got {route!r}"}])
        if route == "qapflow":
            try:
                body = QAPRequest.model_validate(body).model_dump()
            except ValidationError as exc:
                raise HTTPException(422, [{"field": ".".join(["body", *map(str, e["loc"])]), "message": e["msg"]}
                                          for e in exc.errors()]) from None
        work = admit(route, body, key)
        try:
            job_id, _ = queue.submit(work, job=True, owner=key.id)
        except QueueFull as exc:
            raise HTTPException(503, f"server busy: {exc}", headers={"Retry-After": str(queue.retry_after())}) from None
        return {"id": job_id, "status": "queued"}

    @app.get("/jobs/{job_id}", responses=JOB_ERRORS, tags=["jobs"])
    async def job_status(job_id: str, key: ApiKey = read_key) -> dict[str, Any]:
        """Status, progress (best objective so far, elapsed), the anytime curve and the result."""
        return queue.get(job_id).to_dict()

    @app.delete("/jobs/{job_id}", responses=JOB_ERRORS, tags=["jobs"])
    async def job_cancel(job_id: str, key: ApiKey = solve_key) -> dict[str, Any]:
        """Cancel a job; a running one stops and keeps its best-so-far as its result."""
        job = await asyncio.to_thread(queue.cancel, job_id)
        return job.to_dict()

    @app.get("/jobs", responses=ERRORS, tags=["jobs"])
    async def job_list(key: ApiKey = read_key) -> list[dict[str, Any]]:
        """The most recent jobs, newest first."""
        return [j.to_dict() for j in queue.recent(config.recent_jobs)]

    @app.get("/health", tags=["service"])
    async def health() -> JSONResponse:
        """Liveness and readiness: the store answers and the solver workers are alive (503 otherwise)."""
        try:
            store.query("SELECT 1")
            store_ok = True
        except Exception:
            store_ok = False
        alive = queue.workers_alive()
        ready = store_ok and alive == config.workers
        return JSONResponse({"status": "ok" if ready else "degraded", "store": store_ok, "workers": alive,
                             "workers_expected": config.workers, "queue_depth": queue.depth(),
                             "in_flight": queue.in_flight(), "version": __version__},
                            status_code=200 if ready else 503)

    @app.get("/metrics", tags=["service"], response_class=Response, responses=ERRORS)
    async def prometheus(key: ApiKey = read_key) -> Response:
        """Prometheus text exposition."""
        return Response(metrics.render(queue.depth(), queue.in_flight()),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/solvers", tags=["service"], responses=ERRORS)
    async def solvers(key: ApiKey = read_key) -> dict[str, Any]:
        """Registered solvers by problem type, and MetaFlow's global Elo ratings."""
        by_type: dict[str, list[dict[str, str]]] = {}
        for s in registry.solvers():
            by_type.setdefault(s.problem_type, []).append({"name": s.name, "description": s.description})
        ratings = {s: {"rating": r, "games": g} for s, (r, g) in metaflow.ratings().items()}
        return {"solvers": by_type, "ratings": ratings}

    @app.get("/", response_class=HTMLResponse, tags=["service"], responses=ERRORS)
    async def home(request: Request, job: str | None = None,
                   key: ApiKey = page_key) -> HTMLResponse:
        """The live page: recent jobs, the anytime curve of one (``?job=ID``), MetaFlow's ratings. A browser
        may pass its key as ``?key=``."""
        return HTMLResponse(page.render(queue, metaflow, selected=job, limit=config.recent_jobs,
                                        key=request.query_params.get("key")))

    return app

