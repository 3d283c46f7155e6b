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

import asyncio
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import Body, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mezan import __version__, registry
from mezan.dist import DistError
from mezan.errors import MezanError, SolverFailedError
from mezan.meta import MetaFlow
from mezan.service import page
from mezan.service.auth import LOCAL, SESSION_COOKIE, AllowedHosts, Auth, same_site_origin
from mezan.service.config import ServiceConfig
from mezan.service.jobs import Job, JobNotFound, JobQueue, QueueFull, QuotaExceeded, SolverStuck
from mezan.service.keys import ApiKey, KeyStore, Sessions
from mezan.service.metrics import Metrics
from mezan.service.protocol import BodyLimit, Observe, install_log_redaction
from mezan.service.ratelimit import RateLimiter
from mezan.service.routes import ROUTE_TYPES, Admission, Work, parse
from mezan.service.schemas import (
    ERRORS,
    EXAMPLES,
    JOB_ERRORS,
    REPORT_ERRORS,
    SOLVE_ERRORS,
    JobCreated,
    QAPRequest,
    QAPResponse,
    wire_model,
)
from mezan.store import Store, StoredDataError

INLINE_ADMISSION_BYTES = 64 * 1024  # bodies up to this size are admitted on the event loop itself
DISCONNECT_POLL = 0.2  # seconds between two checks that a synchronous solve's client is still there
WIRE_ROUTES = ("workflow", "allocflow", "graphflow", "dualflow", "evoflow", "mezan")


class BenchPages:
    """OptiBench's experiments as the service shows them (the registry is read only)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def experiments(self) -> list[dict[str, Any]]:
        from mezan.bench.registry import Registry

        registry = Registry(self.store)
        return [{"id": e.id, "name": e.name, "runs": len(registry.cells(e.id)), "solvers": e.design.get("solvers", []),
                 "instances": e.design.get("instances", [])} for e in registry.experiments()]

    def report(self, experiment_id: str) -> str:
        from mezan.bench.analysis import analyze, load
        from mezan.bench.registry import Registry
        from mezan.bench.report import html_report

        registry = Registry(self.store)
        result = analyze(load(registry, experiment_id))
        return html_report(result, {e: registry.environment(e) for e in result["environments"]})


def create_app(config: ServiceConfig | None = None, store: Store | None = None) -> FastAPI:
    config = config or ServiceConfig()
    store = store or Store()
    install_log_redaction()
    metrics = Metrics()
    keys = KeyStore(store)
    sessions = Sessions(config.session_seconds)
    auth = Auth(config, keys, sessions, limiter=RateLimiter(), failures=RateLimiter())  # failures: by client address
    executor = None
    if config.scheduler is not None:  # solves go to the cluster; a scheduler without workers yet is allowed
        from mezan.dist import DaskExecutor

        executor = DaskExecutor(config.scheduler, wait_for_workers=False, quiet=True)
    queue = JobQueue(store, config.workers, config.queue_limit, on_finish=metrics.solved, reserved=config.reserve(),
                     grace=config.grace, executor=executor)

    metaflow = MetaFlow(store)
    bench = BenchPages(store)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        install_log_redaction()  # again: the server has configured its log handlers by now
        queue.open()
        try:
            yield
        finally:
            queue.close()  # queued jobs never start; running ones stop and keep their best; all marked "interrupted"
            if executor is not None:
                executor.close()

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
    app.add_middleware(AllowedHosts, config=config)  # inside Observe: refused hosts are counted, and get its headers
    app.add_middleware(BodyLimit, limit=config.max_body_bytes, timeout=config.body_timeout)
    app.add_middleware(Observe, metrics=metrics,
                       docs_paths=tuple(p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
                                        if p))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": _fields(exc.errors())}, status_code=422)

    @app.exception_handler(MezanError)
    async def refused(request: Request, exc: MezanError):
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

    solve_key, read_key = Depends(auth.require("solve")), Depends(auth.require("read"))

    # ---- admission ----------------------------------------------------------------------------------
    def admission(key: ApiKey) -> Admission:
        """The size and time check of this caller, for a direct request and for each composite subproblem."""
        limit = config.max_size.get(key.scope, 0) if config.auth else max(config.max_size.values())
        return Admission(limit, key.scope, config.max_time_limit)

    def admit(route: str, body: dict[str, Any], key: ApiKey) -> Work:
        return parse(route, body, admit=admission(key), metaflow=metaflow)

    async def admit_async(request: Request, route: str, body: dict[str, Any], key: ApiKey) -> Work:
        """Admission of a request: inline for a small body (parsing it costs less than a thread hop), on a thread
        for a large one, whose parsing and compiling (a composite) must not hold the event loop."""
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) <= INLINE_ADMISSION_BYTES:
            return admit(route, body, key)
        return await asyncio.to_thread(admit, route, body, key)

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
        except SolverFailedError:  # a solver worker process died (logged by the queue): not the request's fault
            raise HTTPException(500, "internal error") from None
        except DistError as exc:  # the cluster, not the request: try again later
            raise HTTPException(503, f"cluster unavailable: {exc}", headers={"Retry-After": "5"}) from None
        except MezanError as exc:
            raise HTTPException(422, str(exc)) from None
        except Exception:
            raise HTTPException(500, "internal error") from None  # logged by the worker

    # ---- solve routes -------------------------------------------------------------------------------
    @app.post("/qapflow/solve", response_model=QAPResponse, responses=SOLVE_ERRORS, tags=["solve"])
    async def qapflow_solve(request: Request, body: QAPRequest, key: ApiKey = solve_key):
        """Solve a quadratic assignment problem ``min sum A[i,j] B[p(i),p(j)]`` with a QAPFlow mode."""
        return await run_now(await admit_async(request, "qapflow", body.model_dump(), key), key, request)

    models: dict[str, type[BaseModel]] = {"qapflow": QAPRequest}

    def wire_route(route: str) -> None:
        model = models[route] = wire_model(route, ROUTE_TYPES[route])

        async def endpoint(request, body, key: ApiKey = solve_key) -> dict[str, Any]:
            work = await admit_async(request, route, body.model_dump(exclude_none=True), key)
            return await run_now(work, key, request)

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
    async def submit_job(request: Request, body: dict[str, Any] = Body(openapi_examples={"qapflow": {"value": {
            "route": "qapflow", **EXAMPLES["qapflow"]}}}), key: ApiKey = solve_key):
        """Run any solve body asynchronously: the body plus ``"route"`` (qapflow, workflow, allocflow,
        graphflow, dualflow, evoflow or mezan). The job is visible to this key (and admins) only."""
        body = dict(body)
        route = body.pop("route", None)
        work = await admit_async(request, route, validated(route, body), key)
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
    def health() -> JSONResponse:  # sync: FastAPI runs it on a thread, so asking the cluster never blocks the loop
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
        stuck = queue.workers_stuck()
        if stuck > config.workers:  # more runaway solves than workers: they take the cores from the live ones
            reasons.append(f"{stuck} abandoned solver threads still running (replaced, but using the cores)")
        cluster = None
        if executor is not None:
            cluster = executor.describe()
            if not cluster["connected"]:
                reasons.append(f"lost the Dask scheduler at {cluster['address']}")
            elif cluster["workers"] == 0:
                reasons.append(f"no Dask worker connected to {cluster['address']}")
            else:
                reasons.extend(executor.version_problems())
        ready = not reasons
        return JSONResponse({"status": "ok" if ready else "degraded", "store": store_ok, "workers": alive,
                             "cluster": cluster,
                             "workers_expected": config.workers, "workers_stuck": stuck,
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
            target = "/" + (f"?{urlencode({'job': job})}" if job else "")
            if not _navigated_here_directly(request):  # a link on another site: no log-in (login CSRF)
                return RedirectResponse("/login", status_code=303)
            key = auth.admitted(request, auth.identify(request, secret), "read") if config.auth else LOCAL
            return auth.logged_in(request, key, target)
        key = auth.page_user(request)
        owner = None if key.scope == "admin" else key.id
        return HTMLResponse(page.render(queue, metaflow, selected=job, limit=config.recent_jobs, owner=owner,
                                        logout=SESSION_COOKIE in request.cookies, experiments=bench.experiments()))

    # ---- OptiBench experiments and their reports ---------------------------------------------------------
    @app.get("/experiments", tags=["bench"], responses=ERRORS)
    async def experiments(key: ApiKey = read_key) -> dict[str, Any]:
        """OptiBench's experiments in this store, with the address of each report."""
        return {"experiments": [{**e, "report": f"/experiments/{e['id']}/report"} for e in bench.experiments()]}

    @app.get("/experiments/{experiment_id}/report", tags=["bench"], response_model=None,
             responses={200: {"description": "the report", "content": {"text/html": {"schema": {"type": "string"}}}}}
             | REPORT_ERRORS)
    async def experiment_report(experiment_id: str, request: Request) -> Response:
        """An experiment's OptiBench report (HTML, inline SVG), made from its recorded runs on request."""
        auth.page_user(request)
        try:
            return HTMLResponse(await asyncio.to_thread(bench.report, experiment_id))
        except MezanError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_form() -> HTMLResponse:
        return HTMLResponse(page.login())

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        """Trade a key (form field ``key``) for a session cookie: HttpOnly, SameSite=Strict, short-lived."""
        if not same_site_origin(config, request) \
                or request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            raise HTTPException(403, "log in from this server's own /login page")
        try:
            form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=8)
        except ValueError:  # more fields than a log-in form has
            form = {}
        secret = (form.get("key") or [""])[0].strip()
        if not config.auth:
            return auth.logged_in(request, LOCAL, "/")
        if not secret:
            return HTMLResponse(page.login("enter an API key"), status_code=400)
        try:
            key = auth.admitted(request, auth.identify(request, secret), "read")
        except HTTPException as exc:
            return HTMLResponse(page.login(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)
        return auth.logged_in(request, key, "/")

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        return auth.logged_out(request)

    return app


def _navigated_here_directly(request: Request) -> bool:
    """A browser says where a navigation came from (Sec-Fetch-Site): typed, bookmarked ("none") or from this
    server's own pages ("same-origin"); a client that does not say is not a browser following a foreign link."""
    return request.headers.get("sec-fetch-site", "none") in ("none", "same-origin")


def _fields(errors, prefix: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Pydantic's errors as [{"field": "body.seed", "message": ...}] (never the offending input echoed)."""
    return [{"field": ".".join(str(p) for p in (*prefix, *e.get("loc", ()))), "message": e.get("msg", "invalid")}
            for e in errors]
