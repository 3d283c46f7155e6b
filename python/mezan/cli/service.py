"""``mezan serve``, ``mezan keys ...`` and ``mezan jobs ...`` (a client of a running server)."""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

import typer
from rich.console import Console
from rich.pretty import Pretty
from rich.table import Table

from mezan.cli import common
from mezan.errors import InvalidParameterError, MezanError
from mezan.extras import require
from mezan.inputs import read_json
from mezan.service.config import SCOPES
from mezan.service.keys import KeyStore
from mezan.service.protocol import install_log_redaction
from mezan.store import Store


class ServerError(MezanError):
    """A server answered with an error (or could not be reached)."""


def request(method: str, url: str, key: str | None, body: Any = None, timeout: float = 30.0) -> dict[str, Any]:
    """One JSON request to a MEZAN server; errors carry the server's own message."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method), timeout=timeout) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail")
        except (ValueError, AttributeError):
            detail = exc.reason
        raise ServerError(f"{method} {url}: HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ServerError(f"{method} {url}: cannot reach the server: {getattr(exc, 'reason', exc)}") from None
    except (ValueError, http.client.HTTPException) as exc:  # a URL urllib cannot use, an answer that is not HTTP
        raise ServerError(f"{method} {url}: {type(exc).__name__}: {exc}") from None


def allowed_hosts(given: list[str] | None) -> tuple[str, ...]:
    """The ``--allowed-host`` names and those of ``$MEZAN_ALLOWED_HOSTS`` (comma-separated), in that order."""
    from_env = [name.strip() for name in os.environ.get("MEZAN_ALLOWED_HOSTS", "").split(",") if name.strip()]
    return tuple(dict.fromkeys([*(given or []), *from_env]))


def server_url(value: str) -> str:
    """A ``--server`` URL, checked before any request.

    Parameters
    ----------
    value : str
        The URL as given: ``http(s)://HOST[:PORT][/PREFIX]`` (an IPv6 address in brackets).

    Returns
    -------
    str
        The URL without a trailing slash.

    Raises
    ------
    InvalidParameterError
        A malformed URL (an unclosed bracket, a bad port), another scheme, no host, a query, a fragment or
        credentials; the message names ``--server``.
    """
    try:
        parts = urlsplit(value.strip())
        port = parts.port  # a malformed port raises here
        hostname = parts.hostname
    except (ValueError, AttributeError):
        raise InvalidParameterError(f"--server: {value!r} is not a URL (expected e.g. http://127.0.0.1:8080; "
                                    f"an IPv6 address goes in brackets, http://[::1]:8080)") from None
    if parts.scheme not in ("http", "https") or not hostname or parts.query or parts.fragment or \
            parts.username is not None or port == 0:
        raise InvalidParameterError(f"--server: {value!r} is not a server URL (expected http://HOST[:PORT] or "
                                    f"https://HOST[:PORT], e.g. http://127.0.0.1:8080)")
    return value.strip().rstrip("/")


def job_url(server: str, job_id: str) -> str:
    """The address of one job on a server (``--server`` checked; the id quoted, so it stays one path segment)."""
    return f"{server_url(server)}/jobs/{quote(job_id, safe='')}"


def _print(value: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(value))
        return

    Console().print(Pretty(value))


def register(app: typer.Typer) -> None:
    """Add ``mezan serve``, ``mezan keys ...`` and ``mezan jobs ...``."""
    register_serve(app)
    app.add_typer(keys_app(), name="keys")
    app.add_typer(jobs_app(), name="jobs")


def register_serve(app: typer.Typer) -> None:
    """Add ``mezan serve``."""
    store_option = common.store_option()

    @app.command("serve", short_help=common.about("serve"))
    def serve(host: str = typer.Option("127.0.0.1", "--host", help="the address to listen on"),
              port: int = typer.Option(8080, "--port", help="the port to listen on"),
              workers: int = typer.Option(None, "--workers", help="solver threads (default: one per core); with "
                                          "--scheduler, solves in flight on the cluster (give its thread count)"),
              queue_limit: int = typer.Option(64, "--queue-limit", help="solves waiting beyond the workers"),
              rate: float = typer.Option(120.0, "--rate", help="requests per minute per key (default)"),
              max_time: float = typer.Option(300.0, "--max-time", help="cap on a request's time_limit (s)"),
              max_body: int = typer.Option(8 * 1024 * 1024, "--max-body", help="largest request body (bytes)"),
              body_timeout: float = typer.Option(30.0, "--body-timeout",
                                                 help="seconds a client has to send its whole body (else 408)"),
              key_quota: int = typer.Option(16, "--key-quota", help="solves one key may have queued + running at "
                                                                    "once (default; a key may set its own)"),
              reserved: int = typer.Option(None, "--reserved-slots",
                                           help="last queue slots kept for keys with no solve in progress "
                                                "(default: a quarter of --queue-limit)"),
              stuck_grace: float = typer.Option(5.0, "--stuck-grace",
                                                help="seconds past its time limit (at least; or half the limit) "
                                                     "before a solve is called stuck and its worker replaced"),
              busy_limit: float = typer.Option(None, "--busy-limit",
                                               help="/health answers 503 once no worker has been free for this "
                                                    "many seconds (default: --max-time + its grace)"),
              cors: list[str] = typer.Option(None, "--cors", help="allowed CORS origin (repeat; default: CORS off)"),
              no_auth: bool = typer.Option(False, "--no-auth", help="no API keys: for local use only"),
              allowed_host: list[str] = typer.Option(None, "--allowed-host",
                                                     help="a name clients reach the server by, besides localhost and "
                                                          "the --host address (repeat; also $MEZAN_ALLOWED_HOSTS, "
                                                          "comma-separated); other Host headers get 400"),
              scheduler: str = typer.Option(None, "--scheduler",
                                            help="run solves on this Dask scheduler's workers (default: "
                                                 "$MEZAN_SCHEDULER, else this machine's threads)"),
              job_lease: float = typer.Option(30.0, "--job-lease",
                                              help="seconds a replica holds its jobs unrenewed before another replica "
                                                   "on the same store takes them over"),
              store: str = store_option):
        """Run the HTTP service (FastAPI on uvicorn); replicas on one --store (a PostgreSQL URL) act as one."""
        require("mezan serve", "service", "meta", "flows")
        import uvicorn  # the service extra: imported here so that `mezan keys` and `mezan jobs` work without it

        from mezan.service import ServiceConfig, create_app

        config = ServiceConfig(auth=not no_auth, workers=workers or max(1, os.cpu_count() or 1),
                               queue_limit=queue_limit, rate_per_minute=rate, max_time_limit=max_time,
                               max_body_bytes=max_body, body_timeout=body_timeout, key_quota=key_quota,
                               reserved_slots=reserved, stuck_grace_min=stuck_grace, health_busy_limit=busy_limit,
                               cors_origins=tuple(cors or ()),
                               scheduler=scheduler or os.environ.get("MEZAN_SCHEDULER") or None,
                               host=host, allowed_hosts=allowed_hosts(allowed_host), job_lease=job_lease)
        if no_auth:

            Console(stderr=True).print("[bold red]WARNING: --no-auth: every request is an admin, with no key and no "
                                       "rate limit. Anyone who can reach "
                                       f"{host}:{port} can run solves. Use it on your own machine only.[/]")
        app_ = create_app(config, Store(store))
        install_log_redaction()  # keys never reach the access log (a ?key= link, a pasted header)
        uvicorn.run(app_, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
        return 0



def keys_app() -> typer.Typer:
    """``mezan keys create|list|revoke``."""
    store_option, json_option = common.store_option(), common.json_option()

    keys = common.new_app(help=common.about("keys"))

    @keys.command("create")
    def create(scope: str = typer.Option(..., "--scope", help=" | ".join(SCOPES)),
               name: str = typer.Option(None, "--name", help="a label for the key (shown by mezan keys list)"),
               rate: float = typer.Option(None, "--rate", help="requests per minute (default: the server's)"),
               quota: int = typer.Option(None, "--quota", help="solves queued + running at once (default: the "
                                                               "server's --key-quota)"),
               store: str = store_option, json_: bool = json_option):
        """Create a key and print it (it cannot be shown again)."""

        secret, key = KeyStore(Store(store)).create(scope, name, rate, quota)
        if json_:
            print(json.dumps({"key": secret, **key.to_dict()}))
        else:
            print(secret)
            print(f"id {key.id}, scope {key.scope}, name {key.name!r}: store the key now, it is not shown again",
                  file=sys.stderr)
        return 0

    @keys.command("list")
    def list_keys(store: str = store_option, json_: bool = json_option):
        """Every key (id, name, scope, limits, revoked or not); never the secrets."""

        rows = [k.to_dict() for k in KeyStore(Store(store)).list()]
        if json_:
            print(json.dumps(rows))
            return 0

        table = Table(title="API keys")
        for column in ("id", "name", "scope", "rate/min", "quota", "created", "revoked"):
            table.add_column(column)
        def when(t):
            return "" if t is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(t))

        for k in rows:
            rate = "server" if k["rate_per_minute"] is None else f"{k['rate_per_minute']:g}"
            quota = "server" if k["quota"] is None else str(k["quota"])
            table.add_row(k["id"], k["name"], k["scope"], rate, quota, when(k["created"]), when(k["revoked"]))
        Console().print(table)
        return 0

    @keys.command("revoke")
    def revoke(key_id: str = typer.Argument(..., help="the key's id (mezan keys list)"), store: str = store_option,
               json_: bool = json_option):
        """Revoke a key: requests with it get 401 from then on."""

        key = KeyStore(Store(store)).revoke(key_id)
        print(json.dumps(key.to_dict()) if json_ else f"revoked {key.id} ({key.name}, {key.scope})")
        return 0

    return keys


def jobs_app() -> typer.Typer:
    """``mezan jobs submit|status|cancel``: a client of a running server."""
    json_option = common.json_option()
    job_argument = typer.Argument(..., help="the job's id (printed by mezan jobs submit)")

    jobs = common.new_app(help=common.about("jobs"))
    server_option = typer.Option(os.environ.get("MEZAN_SERVER", "http://127.0.0.1:8080"), "--server",
                                 help="server URL (or $MEZAN_SERVER)")
    key_option = typer.Option(None, "--key", help="API key (default $MEZAN_KEY)")

    def key_of(key: str | None) -> str | None:
        return key or os.environ.get("MEZAN_KEY")

    @jobs.command("submit")
    def submit(file: str = typer.Argument(..., help="JSON solve body"),
               route: str = typer.Option(None, "--route", help="qapflow, workflow, ... (default: the body's "
                                                               "'route', else mezan)"),
               wait: bool = typer.Option(False, "--wait", help="poll until the job ends, with a progress line"),
               server: str = server_option, key: str = key_option, json_: bool = json_option):
        """Submit a job; prints its id (or, with --wait, its final state)."""
        server = server_url(server)
        body = read_json(file, what="JSON body")
        if not isinstance(body, dict):
            raise InvalidParameterError(f"{file}: the body must be a JSON object")
        body = {**body, "route": route or body.get("route", "mezan")}
        created = request("POST", f"{server}/jobs", key_of(key), body)
        if not wait:
            _print(created, json_)
            return 0
        return _wait(server, key_of(key), created["id"], json_)

    def _wait(server: str, key: str | None, job_id: str, as_json: bool) -> int:

        console = Console(stderr=True)
        with console.status(f"job {job_id}") as status:
            while True:
                job = request("GET", job_url(server, job_id), key)
                best = job["progress"]["best_objective"]
                status.update(f"job {job_id}: {job['status']}, best {best}, {job['progress']['elapsed'] or 0:.1f} s")
                if job["status"] not in ("queued", "running"):
                    break
                time.sleep(0.5)
        _print(job, as_json)
        return 0 if job["status"] == "done" else 1

    @jobs.command("status")
    def status(job_id: str = job_argument, server: str = server_option, key: str = key_option,
               json_: bool = json_option):
        """A job's status, progress and result."""
        _print(request("GET", job_url(server, job_id), key_of(key)), json_)
        return 0

    @jobs.command("cancel")
    def cancel(job_id: str = job_argument, server: str = server_option, key: str = key_option,
               json_: bool = json_option):
        """Cancel a job (a running one keeps its best-so-far)."""
        _print(request("DELETE", job_url(server, job_id), key_of(key)), json_)
        return 0

    return jobs
