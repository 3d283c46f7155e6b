"""What one running service holds, and what every router shares: the admission of a request, the queue, the jobs.

:func:`mezan.service.app.create_app` builds one :class:`Service` and keeps it in ``app.state.service``; the routers
(:mod:`mezan.service.routers`) reach it, and the caller's key, through the dependencies :func:`service`,
:func:`solve_key` and :func:`read_key`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from mezan.dist import DistError
from mezan.errors import MezanError, SolverFailedError
from mezan.meta import MetaFlow
from mezan.service.auth import LOCAL, Auth
from mezan.service.config import ServiceConfig
from mezan.service.jobs import Job, JobNotFound, JobQueue, QueueFull, QuotaExceeded, SolverStuck
from mezan.service.keys import ApiKey, KeyStore, Sessions, StoreSessions
from mezan.service.metrics import Metrics
from mezan.service.routes import ROUTE_TYPES, Admission, Work, parse
from mezan.service.schemas import QAPRequest, wire_model
from mezan.store import Store

INLINE_ADMISSION_BYTES = 64 * 1024  # bodies up to this size are admitted on the event loop itself
DISCONNECT_POLL = 0.2  # seconds between two checks that a synchronous solve's client is still there
WIRE_ROUTES = ("workflow", "allocflow", "graphflow", "dualflow", "evoflow", "mezan")
"""The routes that take a problem's wire form (``/qapflow/solve`` has its own body model)."""

MODELS: dict[str, type[BaseModel]] = {"qapflow": QAPRequest,
                                      **{route: wire_model(route, ROUTE_TYPES[route]) for route in WIRE_ROUTES}}
"""The body model of every solve route: a job's body is checked by the same one as its synchronous route."""


def field_errors(errors: Any, prefix: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Pydantic's errors as [{"field": "body.seed", "message": ...}] (never the offending input echoed)."""
    return [{"field": ".".join(str(p) for p in (*prefix, *e.get("loc", ()))), "message": e.get("msg", "invalid")}
            for e in errors]


def admission(config: ServiceConfig, key: ApiKey) -> Admission:
    """The size and time check of a caller, for a direct request and for each composite subproblem."""
    limit = config.max_size.get(key.scope, 0) if config.auth else max(config.max_size.values())
    return Admission(limit, key.scope, config.max_time_limit)


@dataclass
class JobResumer:
    """Rebuilds a queued job that this replica takes over from a stopped one: its stored body admitted again for its
    owner's key (which must still be live)."""

    config: ServiceConfig
    keys: KeyStore
    metaflow: MetaFlow

    def __call__(self, route: str, body: dict[str, Any], owner: str | None) -> Work:
        key = self.keys.live(owner) if self.config.auth and owner is not None else LOCAL
        if key is None:
            raise MezanError(f"its key {owner} was revoked")
        return parse(route, body, admit=admission(self.config, key), metaflow=self.metaflow)


@dataclass
class Service:
    """One service's state: its configuration, store, keys and sessions, the solver queue and MetaFlow."""

    config: ServiceConfig
    store: Store
    metrics: Metrics
    keys: KeyStore
    sessions: Sessions | StoreSessions
    auth: Auth
    queue: JobQueue
    metaflow: MetaFlow
    bench: Any
    executor: Any = None
    models: dict[str, type[BaseModel]] = field(default_factory=lambda: dict(MODELS))

    # ---- admission ----------------------------------------------------------------------------------
    def admission(self, key: ApiKey) -> Admission:
        """The size and time check of this caller, for a direct request and for each composite subproblem."""
        return admission(self.config, key)

    def admit(self, route: str, body: dict[str, Any], key: ApiKey) -> Work:
        return parse(route, body, admit=self.admission(key), metaflow=self.metaflow)

    async def admit_async(self, request: Request, route: str, body: dict[str, Any], key: ApiKey) -> Work:
        """Admission of a request: inline for a small body (parsing it costs less than a thread hop), on a thread
        for a large one, whose parsing and compiling (a composite) must not hold the event loop."""
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) <= INLINE_ADMISSION_BYTES:
            return self.admit(route, body, key)
        return await asyncio.to_thread(self.admit, route, body, key)

    def validated(self, route: Any, body: dict[str, Any]) -> dict[str, Any]:
        """A job's body checked by the same model as its synchronous route (so the same 422s)."""
        if not isinstance(route, str) or route not in ROUTE_TYPES:
            raise HTTPException(422, [{"field": "body.route", "message": f"route must be one of "
                                                                          f"{', '.join(ROUTE_TYPES)}; got {route!r}"}])
        try:
            checked = self.models[route].model_validate(body)
        except ValidationError as exc:
            raise HTTPException(422, field_errors(exc.errors(), prefix=("body",))) from None
        return checked.model_dump() if route == "qapflow" else checked.model_dump(exclude_none=True)

    # ---- the queue ----------------------------------------------------------------------------------
    def enqueue(self, work: Work, key: ApiKey, job: bool = False, body: dict[str, Any] | None = None) -> Any:
        """Queue a solve (a job, with its checked ``body`` when ``job``: with the route, which the job row keeps,
        another replica can rebuild it); 429 or 503 when refused."""
        quota = (key.quota or self.config.key_quota) if self.config.auth else None
        try:
            return self.queue.submit(work, job=job, owner=key.id, quota=quota, body=body)
        except QuotaExceeded as exc:
            raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
        except QueueFull as exc:
            raise HTTPException(503, f"server busy: {exc}",
                                headers={"Retry-After": str(self.queue.retry_after())}) from None

    async def run_now(self, work: Work, key: ApiKey, request: Request) -> Any:
        """Run a solve for a waiting client; if the client goes away the solve is dropped (queued) or stopped."""
        _, future = self.enqueue(work, key)
        waiting = asyncio.wrap_future(future)
        while not waiting.done():
            await asyncio.wait({waiting}, timeout=DISCONNECT_POLL)
            if not waiting.done() and await request.is_disconnected():
                self.queue.abandon(future)
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

    def own_job(self, job_id: str, key: ApiKey) -> Job:
        """The job if this key may see it: its creator's or an admin's; anyone else gets the 404 of a job that
        does not exist (so ids do not reveal that they exist)."""
        job = self.queue.get(job_id)
        if key.scope != "admin" and job.owner != key.id:
            raise JobNotFound(f"no job with id {job_id!r}")
        return job


# ---- dependencies of the routers -------------------------------------------------------------------------
def service(request: Request) -> Service:
    """The service this request reached."""
    return request.app.state.service


def solve_key(request: Request) -> ApiKey:
    """The caller's bearer key, admitted to a route of scope ``solve``."""
    return service(request).auth.require("solve")(request)


def read_key(request: Request) -> ApiKey:
    """The caller's bearer key, admitted to a route of scope ``read``."""
    return service(request).auth.require("read")(request)
