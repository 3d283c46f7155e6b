"""The FastAPI application: ``create_app(config, store)`` wires the pieces together and holds the routes —
solves, jobs, health, metrics, solvers, the page and its login — with their error handling, problem size and
time limits, and per-key quotas. ``mezan serve`` runs it. Who is asking is :mod:`mezan.service.auth`'s job;
body limits, metrics, security headers and log redaction are :mod:`mezan.service.protocol`'s.

Hostile input never crashes, hangs, bypasses a limit or reaches another key's data: every bad value is a
4xx naming the field (an unexpected error is a bare 500 "internal error"); a body over the limit is 413
however it is framed and one that does not arrive in time is 408; a job is visible only to the key that
created it (and admins); one key cannot hold more than its quota of solves nor the queue's reserved slots;
a synchronous solve whose client went away is stopped (or never started); keys never appear in links or
logs, and failed authentications are rate-limited per client address. A request that names the server by a name
it does not have (its ``Host``: DNS rebinding) is 400 before anything else runs, and the login form checks a
browser's ``Origin`` against the same names (:mod:`mezan.service.auth`).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mezan import __version__
from mezan.dist import DaskExecutor
from mezan.errors import MezanError
from mezan.meta import MetaFlow
from mezan.service.auth import AllowedHosts, Auth
from mezan.service.config import ServiceConfig
from mezan.service.jobs import JobNotFound, JobQueue
from mezan.service.keys import KeyStore, StoreSessions
from mezan.service.metrics import Metrics
from mezan.service.protocol import BodyLimit, Observe, install_log_redaction
from mezan.service.ratelimit import StoreRateLimiter
from mezan.service.routers import ROUTERS
from mezan.service.state import JobResumer, Service, field_errors
from mezan.store import Store, StoredDataError, StoreUnavailable


class BenchPages:
    """OptiBench's experiments as the service shows them (the registry is read only)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def experiments(self) -> list[dict[str, Any]]:
        from mezan.bench.registry import Registry  # the bench extra

        registry = Registry(self.store)
        return [{"id": e.id, "name": e.name, "runs": len(registry.cells(e.id)), "solvers": e.design.get("solvers", []),
                 "instances": e.design.get("instances", [])} for e in registry.experiments()]

    def report(self, experiment_id: str) -> str:
        from mezan.bench.analysis import analyze, load  # the bench extra
        from mezan.bench.registry import Registry  # the bench extra
        from mezan.bench.report import html_report  # the bench extra

        registry = Registry(self.store)
        result = analyze(load(registry, experiment_id))
        return html_report(result, {e: registry.environment(e) for e in result["environments"]})


def build_service(config: ServiceConfig, store: Store) -> Service:
    """The state of one service: keys, sessions, limits, the solver queue (on a Dask cluster when configured).
    Keys, sessions, rate limits and jobs are the store's, so every replica on one store shares them."""
    install_log_redaction()
    metrics = Metrics()
    keys = KeyStore(store)
    sessions = StoreSessions(store, config.session_seconds)
    auth = Auth(config, keys, sessions, limiter=StoreRateLimiter(store, "key"),
                failures=StoreRateLimiter(store, "auth"))  # failures: by client address
    metaflow = MetaFlow(store)
    executor = None
    if config.scheduler is not None:  # solves go to the cluster; a scheduler without workers yet is allowed
        executor = DaskExecutor(config.scheduler, wait_for_workers=False, quiet=True)
    queue = JobQueue(store, config.workers, config.queue_limit, on_finish=metrics.solved, reserved=config.reserve(),
                     grace=config.grace, executor=executor, lease=config.job_lease,
                     resume=JobResumer(config, keys, metaflow))
    return Service(config=config, store=store, metrics=metrics, keys=keys, sessions=sessions, auth=auth, queue=queue,
                   metaflow=metaflow, bench=BenchPages(store), executor=executor)


def add_error_handlers(app: FastAPI) -> None:
    """422 with the field's path for bad input, 404 for an unknown job, 503 for stored data that fails its checks;
    never a stack trace."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": field_errors(exc.errors())}, status_code=422)

    @app.exception_handler(MezanError)
    async def refused(request: Request, exc: MezanError):
        if isinstance(exc, StoreUnavailable):  # the database is down or restarting: not the request's fault
            return JSONResponse({"detail": "the service's database is unavailable; retry shortly"}, status_code=503,
                                headers={"Retry-After": "2"})
        if isinstance(exc, StoredDataError):  # the server's state, not the request: no path or row in the answer
            return JSONResponse({"detail": "MetaFlow's stored data fails its checks; the server's operator runs "
                                           "`mezan meta verify`"}, status_code=503)
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, JobNotFound) else 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (e.g. not UTF-8): malformed JSON
            return JSONResponse({"detail": [{"field": "body", "message": f"malformed JSON body: {exc.detail}"}]},
                                status_code=422)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def create_app(config: ServiceConfig | None = None, store: Store | None = None) -> FastAPI:
    """The FastAPI application of one service: its state (:class:`~mezan.service.state.Service`), the middleware
    (allowed hosts, body limits, metrics and security headers, CORS when asked), the error handlers and the
    routers of :mod:`mezan.service.routers`."""
    config = config or ServiceConfig()
    service = build_service(config, store or Store())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        install_log_redaction()  # again: the server has configured its log handlers by now
        service.queue.open()
        try:
            yield
        finally:
            service.queue.close()  # queued jobs never start; running ones stop and keep their best: "interrupted"
            if service.executor is not None:
                service.executor.close()

    app = FastAPI(title="MEZAN", lifespan=lifespan, version=__version__,
                  description="Meta-learning optimization: QAPFlow, WorkFlow, AllocFlow, GraphFlow, DualFlow, "
                              "EvoFlow and composite requests (C2SC). Send `Authorization: Bearer <key>` "
                              "(`mezan keys create`); `/health` is open; a browser logs in at `/login`.")
    app.state.service = service
    app.state.config, app.state.store, app.state.queue, app.state.keys, app.state.metrics = (
        config, service.store, service.queue, service.keys, service.metrics)
    app.state.sessions = service.sessions
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(AllowedHosts, config=config)  # inside Observe: refused hosts are counted, and get its headers
    app.add_middleware(BodyLimit, limit=config.max_body_bytes, timeout=config.body_timeout)
    app.add_middleware(Observe, metrics=service.metrics,
                       docs_paths=tuple(p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
                                        if p))
    add_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
