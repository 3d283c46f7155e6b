"""Asynchronous solves: ``POST /jobs``, ``GET /jobs``, ``GET /jobs/{id}`` and ``DELETE /jobs/{id}``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from mezan.service.keys import ApiKey
from mezan.service.schemas import ERRORS, EXAMPLES, JOB_ERRORS, JobCreated
from mezan.service.state import Service, read_key, service, solve_key

router = APIRouter(tags=["jobs"])


@router.post("/jobs", response_model=JobCreated, status_code=202, responses=ERRORS)
async def submit_job(request: Request, body: dict[str, Any] = Body(openapi_examples={"qapflow": {"value": {
        "route": "qapflow", **EXAMPLES["qapflow"]}}}), key: ApiKey = Depends(solve_key),
        state: Service = Depends(service)):
    """Run any solve body asynchronously: the body plus ``"route"`` (qapflow, workflow, allocflow,
    graphflow, dualflow, evoflow or mezan). The job is visible to this key (and admins) only."""
    body = dict(body)
    route = body.pop("route", None)
    checked = state.validated(route, body)
    work = await state.admit_async(request, route, checked, key)
    job_id, _ = state.enqueue(work, key, job=True, body=checked)
    return {"id": job_id, "status": "queued"}


@router.get("/jobs/{job_id}", responses=JOB_ERRORS)
async def job_status(job_id: str, key: ApiKey = Depends(read_key),
                     state: Service = Depends(service)) -> dict[str, Any]:
    """Status, progress (best objective so far, elapsed), the anytime curve and the result."""
    return state.own_job(job_id, key).to_dict()


@router.delete("/jobs/{job_id}", responses=JOB_ERRORS)
async def job_cancel(job_id: str, key: ApiKey = Depends(solve_key),
                     state: Service = Depends(service)) -> dict[str, Any]:
    """Cancel a job; a running one stops and keeps its best-so-far as its result."""
    state.own_job(job_id, key)
    job = await asyncio.to_thread(state.queue.cancel, job_id)
    return job.to_dict()


@router.get("/jobs", responses=ERRORS)
async def job_list(key: ApiKey = Depends(read_key), state: Service = Depends(service)) -> list[dict[str, Any]]:
    """This key's most recent jobs (an admin's: everyone's), newest first."""
    owner = None if key.scope == "admin" else key.id
    return [j.to_dict() for j in state.queue.recent(state.config.recent_jobs, owner=owner)]
