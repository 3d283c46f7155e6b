"""What a browser sees: ``GET /`` (the live page), ``/login`` and ``/logout``, and OptiBench's experiments and
their reports."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mezan.errors import MezanError
from mezan.service import page
from mezan.service.auth import LOCAL, SESSION_COOKIE, same_site_origin
from mezan.service.keys import ApiKey
from mezan.service.schemas import ERRORS, REPORT_ERRORS
from mezan.service.state import Service, read_key, service

router = APIRouter()


def navigated_here_directly(request: Request) -> bool:
    """A browser says where a navigation came from (Sec-Fetch-Site): typed, bookmarked ("none") or from this
    server's own pages ("same-origin"); a client that does not say is not a browser following a foreign link."""
    return request.headers.get("sec-fetch-site", "none") in ("none", "same-origin")


@router.get("/", response_class=HTMLResponse, tags=["service"], responses=ERRORS)
async def home(request: Request, job: str | None = None, state: Service = Depends(service)) -> Response:
    """The live page: this key's recent jobs, the anytime curve of one (``?job=ID``), MetaFlow's ratings. A
    browser logs in at ``/login``; an old ``?key=`` link logs in and redirects to the same page without it."""
    auth, config = state.auth, state.config
    secret = request.query_params.get("key")
    if secret is not None:
        target = "/" + (f"?{urlencode({'job': job})}" if job else "")
        if not navigated_here_directly(request):  # a link on another site: no log-in (login CSRF)
            return RedirectResponse("/login", status_code=303)
        key = auth.admitted(request, auth.identify(request, secret), "read") if config.auth else LOCAL
        return auth.logged_in(request, key, target)
    key = auth.page_user(request)
    owner = None if key.scope == "admin" else key.id
    return HTMLResponse(page.render(state.queue, state.metaflow, selected=job, limit=config.recent_jobs,
                                    owner=owner, logout=SESSION_COOKIE in request.cookies,
                                    experiments=state.bench.experiments()))


@router.get("/experiments", tags=["bench"], responses=ERRORS)
async def experiments(key: ApiKey = Depends(read_key), state: Service = Depends(service)) -> dict[str, Any]:
    """OptiBench's experiments in this store, with the address of each report."""
    return {"experiments": [{**e, "report": f"/experiments/{e['id']}/report"} for e in state.bench.experiments()]}


@router.get("/experiments/{experiment_id}/report", tags=["bench"], response_model=None,
            responses={200: {"description": "the report", "content": {"text/html": {"schema": {"type": "string"}}}}}
            | REPORT_ERRORS)
async def experiment_report(experiment_id: str, request: Request, state: Service = Depends(service)) -> Response:
    """An experiment's OptiBench report (HTML, inline SVG), made from its recorded runs on request."""
    state.auth.page_user(request)
    try:
        return HTMLResponse(await asyncio.to_thread(state.bench.report, experiment_id))
    except MezanError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_form() -> HTMLResponse:
    return HTMLResponse(page.login())


@router.post("/login", include_in_schema=False)
async def login(request: Request, state: Service = Depends(service)) -> Response:
    """Trade a key (form field ``key``) for a session cookie: HttpOnly, SameSite=Strict, short-lived."""
    auth, config = state.auth, state.config
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


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, state: Service = Depends(service)) -> Response:
    return state.auth.logged_out(request)
