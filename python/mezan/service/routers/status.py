"""The service's own state: ``GET /health`` (open), ``GET /metrics`` and ``GET /solvers``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from mezan import __version__, registry
from mezan.service.keys import ApiKey
from mezan.service.schemas import ERRORS
from mezan.service.state import Service, read_key, service

router = APIRouter(tags=["service"])


@router.get("/health")
def health(state: Service = Depends(service)) -> JSONResponse:  # sync: run on a thread, never blocks the loop
    """Liveness and readiness: the store answers, every solver worker is alive, and one has been free
    recently (503 otherwise, with the reasons). Stuck solves whose workers were replaced are counted."""
    config, queue = state.config, state.queue
    try:
        state.store.query("SELECT 1")
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
    if state.executor is not None:
        cluster = state.executor.describe()
        if not cluster["connected"]:
            reasons.append(f"lost the Dask scheduler at {cluster['address']}")
        elif cluster["workers"] == 0:
            reasons.append(f"no Dask worker connected to {cluster['address']}")
        else:
            reasons.extend(state.executor.version_problems())
    ready = not reasons
    return JSONResponse({"status": "ok" if ready else "degraded", "store": store_ok, "workers": alive,
                         "cluster": cluster,
                         "workers_expected": config.workers, "workers_stuck": stuck,
                         "workers_replaced": queue.replaced_stuck + queue.replaced_lost,
                         "queue_depth": queue.depth(), "in_flight": queue.in_flight(),
                         "busy_for": round(busy, 3), "reasons": reasons, "version": __version__},
                        status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, responses=ERRORS)
async def prometheus(key: ApiKey = Depends(read_key), state: Service = Depends(service)) -> Response:
    """Prometheus text exposition."""
    queue = state.queue
    return Response(state.metrics.render(queue.depth(), queue.in_flight(), queue.workers_stuck()),
                    media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/solvers", responses=ERRORS)
async def solvers(key: ApiKey = Depends(read_key), state: Service = Depends(service)) -> dict[str, Any]:
    """Registered solvers by problem type, and MetaFlow's global Elo ratings."""
    by_type: dict[str, list[dict[str, str]]] = {}
    for s in registry.solvers():
        by_type.setdefault(s.problem_type, []).append({"name": s.name, "description": s.description})
    ratings = {s: {"rating": r, "games": g} for s, (r, g) in state.metaflow.ratings().items()}
    return {"solvers": by_type, "ratings": ratings}
