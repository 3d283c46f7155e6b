"""The ASGI layer under the routes: log redaction (no API key in a log line), :class:`BodyLimit` (413 for a
body over the limit however it is framed, 408 for one that does not arrive in time) and :class:`Observe`
(metrics by route, rate-limit and security headers on every response, a bare 500 for an unhandled error).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time

from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders

from mezan.service import page
from mezan.service.metrics import Metrics

log = logging.getLogger(__name__)
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
    """Put :class:`RedactKeys` on uvicorn's loggers and this package's, and on every handler of those and of the
    root logger (idempotent). A logger's filter sees only the records logged on that very logger; a handler's
    sees every record it writes, including those propagated from child loggers such as ``mezan.service.jobs``
    — so it is called again once the server has configured its logging (at application start)."""
    names = ("uvicorn", "uvicorn.access", "uvicorn.error", "mezan")
    loggers = [logging.getLogger(name) for name in names] + [logging.getLogger()]
    for target in loggers + [h for logger in loggers for h in logger.handlers]:
        if not any(isinstance(f, RedactKeys) for f in target.filters):
            target.addFilter(RedactKeys())


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
                message = await _within(receive(), deadline)
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


async def _within(awaitable, deadline: float):
    """``await awaitable`` or raise TimeoutError at the loop time ``deadline`` — with a timer only (asyncio.timeout
    on Python >= 3.11), not a task per call as asyncio.wait_for costs on every body read."""
    timeout_at = getattr(asyncio, "timeout_at", None)
    if timeout_at is None:  # Python 3.10
        return await asyncio.wait_for(awaitable, max(0.0, deadline - asyncio.get_running_loop().time()))
    async with timeout_at(deadline):
        return await awaitable


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

