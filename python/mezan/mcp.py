"""``mezan mcp``: MEZAN's solvers and analyses as tools for AI assistants and IDEs (Model Context Protocol, stdio).

Built on the official ``mcp`` SDK (``pip install 'mezan[mcp]'``). Tools, each with a typed schema:

- ``solve``: a wire-form problem (``{"type": "qap", "A": ..., "B": ...}``, any registered type) or a composite
  request, with a time limit and seed; progress goes to the client as the best objective improves, and a cancelled
  request stops the solver (its best so far is dropped with the request);
- ``solve_instance``: a bundled QAPLIB instance by name;
- ``analyze``: DeepThink 3+1 on a wire-form problem (the plan, and the agents' findings);
- ``study``: an ATLAS study of solvers on OptiBench instance specs;
- ``instances``: the bundled instances and their best-known values;
- ``metaflow_status``: MetaFlow's history counts and ratings.

Bad arguments come back as tool errors whose message names the field (MEZAN's own validation messages): time
limits and seeds go through the library's parsers (:func:`mezan.running.time_limit_seconds`,
:func:`mezan.running.resolve_seed`, :func:`mezan.running.integer_at_least`) untouched by the SDK's coercion, so
``"1"``, ``true``, NaN or a negative number is refused exactly as the library refuses it.

The client may be an assistant that a document it read has prompt-injected, so the server reads files only under
its root (``mezan mcp --root DIR``, default: the working directory; ``qaplib:`` names also from ``$MEZAN_QAPLIB``),
symlinks resolved, and refuses any other path by name (:func:`mezan.bench.instances.parse`). A cancelled request
(``notifications/cancelled``) or a client that goes away sets the stop of the work it started: a solve returns at
once, a study or an analysis ends at its next step; on end of input the process exits within
:data:`EXIT_GRACE` seconds even if some work ignores its stop. A line that is not JSON-RPC is answered with a
JSON-RPC error (-32700 Parse error, -32600 Invalid request), never dropped.
"""

# no `from __future__ import annotations`: the SDK reads the tools' annotations (the Context parameter among them)

import io
import json
import math
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import mezan
from mezan import registry
from mezan.errors import InvalidParameterError, MezanError
from mezan.problems import from_wire
from mezan.qap import best_known, load, shipped
from mezan.running import integer_at_least, resolve_seed, time_limit_seconds

PARSE_ERROR, INVALID_REQUEST = -32700, -32600
EXIT_GRACE = 1.0
"""Seconds the server waits, after its input ends, for the work of the requests it dropped to see their stop."""


def _plain(result: Any) -> dict[str, Any]:
    from mezan.service.routes import jsonable  # the meta extra

    return jsonable(result.to_dict())


def server_root(root: str | os.PathLike | None = None) -> Path:
    """The folder the tools may read files from: ``root`` (default: the working directory), resolved.

    Parameters
    ----------
    root : str or os.PathLike, optional
        The folder; None for the working directory.

    Returns
    -------
    Path
        The folder, absolute, symlinks resolved.

    Raises
    ------
    InvalidParameterError
        The folder does not exist.
    """
    folder = Path(os.getcwd() if root is None else root).resolve()
    if not folder.is_dir():
        raise InvalidParameterError(f"--root: {root} is not a folder")
    return folder


def time_limit_argument(value: Any) -> float:
    """A tool's ``time_limit``: the library's budget (positive seconds, ``math.inf`` for inf), else its error."""
    return time_limit_seconds(value)


def seed_argument(value: Any) -> int | None:
    """A tool's ``seed``: None (fresh entropy, drawn by the solver) or an integer in [0, 2**63 - 1]."""
    return None if value is None else resolve_seed(value)


def seeds_argument(value: Any) -> int | None:
    """The ``study`` tool's ``seeds``: None (a power argument decides) or an integer >= 1."""
    return None if value is None else integer_at_least("seeds", value, 1)


def analysis_cap(value: Any) -> float | None:
    """The ``analyze`` tool's ``time_limit``: None (no cap) or the library's budget (inf: no cap)."""
    if value is None:
        return None
    seconds = time_limit_seconds(value)
    return None if math.isinf(seconds) else seconds


def rpc_error(exc: Exception) -> tuple[int, str]:
    """The JSON-RPC error for a line that did not parse: -32700 when it is not JSON, -32600 when it is JSON but not
    a JSON-RPC message (the message names what is wrong, never the line's content)."""
    from pydantic import ValidationError  # the mcp extra

    if isinstance(exc, ValidationError) and not any(e.get("type") == "json_invalid" for e in exc.errors()):
        return INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 request, notification or response"
    return PARSE_ERROR, "Parse error: the line is not valid JSON"


class ParseErrorsAnswered:
    """The stdio transport's read stream, with every line that did not parse answered on ``write_stream`` with a
    JSON-RPC error (id null) instead of being dropped; the server reads only the messages."""

    def __init__(self, inner: Any, write_stream: Any) -> None:
        self.inner, self.write_stream = inner, write_stream

    @property
    def last_context(self) -> Any:
        return getattr(self.inner, "last_context", None)

    async def _answer(self, exc: Exception) -> None:
        import anyio  # the mcp extra
        from mcp.shared.message import SessionMessage  # the mcp extra
        from mcp.types import ErrorData, JSONRPCError  # the mcp extra

        code, message = rpc_error(exc)
        try:
            await self.write_stream.send(SessionMessage(JSONRPCError(jsonrpc="2.0", id=None,
                                                                     error=ErrorData(code=code, message=message))))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):  # the server is closing: nobody to answer
            pass

    async def receive(self) -> Any:
        while True:
            item = await self.inner.receive()
            if not isinstance(item, Exception):
                return item
            await self._answer(item)

    def __aiter__(self) -> "ParseErrorsAnswered":
        return self

    async def __anext__(self) -> Any:
        import anyio  # the mcp extra

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> "ParseErrorsAnswered":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


NOT_JSON = "{\n"
"""What the SDK is given in place of a line that is not strict JSON: it fails to parse (-32700)."""
NOT_A_MESSAGE = '{"jsonrpc": "2.0", "id": null}\n'
"""What the SDK is given in place of a request whose id is neither a string nor an integer: it fails validation
(-32600). The SDK would otherwise read such a request as a notification, which is never answered."""


def _not_strict_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def screened(line: str) -> str:
    """A line from the client as the SDK should read it: JSON's own grammar (no ``NaN``, ``Infinity``), and a request
    id that is a string, an integer or null (JSON-RPC 2.0) — else a line that the SDK refuses, so that the client is
    answered with an error instead of silence."""
    try:
        value = json.loads(line, parse_constant=_not_strict_json)
    except (ValueError, RecursionError):
        return NOT_JSON
    if isinstance(value, dict) and "method" in value and "id" in value:
        ident = value["id"]
        if not (ident is None or isinstance(ident, str) or (isinstance(ident, int) and not isinstance(ident, bool))):
            return NOT_A_MESSAGE
    return line


class ScreenedLines:
    """The client's lines (an async iterable of text lines), each passed through :func:`screened`."""

    def __init__(self, lines: Any) -> None:
        self.lines = lines

    def __aiter__(self) -> "ScreenedLines":
        self.iterator = self.lines.__aiter__()
        return self

    async def __anext__(self) -> str:
        return screened(await self.iterator.__anext__())


async def serve_stdio(server: Any) -> None:
    """Serve ``server`` (an ``MCPServer``) over stdin and stdout, answering lines that do not parse."""
    import anyio  # the mcp extra
    from mcp.server.stdio import stdio_server  # the mcp extra

    lowlevel = server._lowlevel_server  # the SDK's own run_stdio_async does the same, less the answers
    lines = anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    async with stdio_server(stdin=ScreenedLines(lines)) as (read_stream, write_stream):  # type: ignore[arg-type]
        await lowlevel.run(ParseErrorsAnswered(read_stream, write_stream), write_stream,
                           lowlevel.create_initialization_options())


def build_server(root: str | os.PathLike | None = None) -> Any:
    """The MCP server (an ``mcp.server.mcpserver.MCPServer``) with MEZAN's tools; files only under ``root``."""
    import anyio  # the mcp extra
    from mcp.server.mcpserver import Context, MCPServer  # the mcp extra
    from mcp.server.mcpserver.exceptions import ToolError  # the mcp extra
    from pydantic import SkipValidation  # the mcp extra; the schema of the type, the value as sent: MEZAN checks it

    folder = server_root(root)
    server = MCPServer("mezan", instructions="MEZAN: solve optimization problems (QAP, scheduling, allocation, "
                                              "network design, robust problems), analyse them before solving, and run "
                                              "empirical studies of solvers.", version=mezan.__version__)

    def argument(parse: Any, value: Any) -> Any:
        """``parse(value)`` with MEZAN's validation error as a tool error (its message names the argument)."""
        try:
            return parse(value)
        except MezanError as exc:
            raise ToolError(str(exc)) from None

    async def in_thread(fn: Any, ctx: Context | None, stop: threading.Event) -> Any:
        """Run ``fn(progress)`` in a worker thread; a cancelled request, or a client gone, sets ``stop``."""
        last = [0.0]

        def progress(best: float, elapsed: float) -> None:
            now = time.monotonic()
            if ctx is not None and now - last[0] >= 0.2:
                last[0] = now
                try:
                    anyio.from_thread.run(ctx.report_progress, float(elapsed), None, f"best objective {best:.6g}")
                except Exception:  # the client went away: progress is best effort
                    pass

        try:
            return await anyio.to_thread.run_sync(lambda: fn(progress), abandon_on_cancel=True)
        except MezanError as exc:
            raise ToolError(str(exc)) from None
        finally:
            stop.set()

    @server.tool()
    async def solve(problem: dict[str, Any], ctx: Context, time_limit: SkipValidation[float] = 10.0,
                    seed: SkipValidation[int | None] = None) -> dict[str, Any]:
        """Solve a wire-form problem ({"type": "qap", "A": [[...]], "B": [[...]]}, or any registered type) or a
        composite request ({"type": "composite", ...}); MetaFlow picks the solver. Returns the result record."""
        options: dict[str, Any] = {"time_limit": argument(time_limit_argument, time_limit),
                                   "seed": argument(seed_argument, seed)}
        stop = threading.Event()

        def run(progress: Any) -> Any:
            if problem.get("type") == "composite":
                return mezan.solve(problem, stop=stop, **options)
            return mezan.solve(problem, progress=progress, stop=stop, **options)

        return _plain(await in_thread(run, ctx, stop))

    @server.tool()
    async def solve_instance(name: str, ctx: Context, time_limit: SkipValidation[float] = 5.0,
                             seed: SkipValidation[int | None] = None) -> dict[str, Any]:
        """Solve a bundled QAPLIB instance by name (see the instances tool) with QAPFlow's auto mode."""
        if name not in shipped():
            raise ToolError(f"name: no bundled instance {name!r}; bundled: {', '.join(shipped())}")
        limit, chosen = argument(time_limit_argument, time_limit), argument(seed_argument, seed)
        stop = threading.Event()
        problem = load(name)

        def run(progress: Any) -> Any:  # QAPFlow's auto mode, through the registry: the result names its solver
            return registry.get("qapflow.auto").solve(problem, time_limit=limit, seed=chosen, stop=stop,
                                                      progress=progress)

        result = await in_thread(run, ctx, stop)
        record = _plain(result)
        record.update(instance=name, best_known=problem.best_known)
        return record

    @server.tool()
    async def analyze(problem: dict[str, Any], time_limit: SkipValidation[float | None] = None) -> dict[str, Any]:
        """DeepThink 3+1 on a wire-form problem: the Analyzer's, Optimizer's and Validator's findings and the
        Synthesizer's plan (solver, budget, seeds, explanation)."""
        from mezan.agents.deepthink import deepthink  # the meta and bench extras
        from mezan.service.routes import jsonable  # the meta extra

        cap = argument(analysis_cap, time_limit)
        stop = threading.Event()

        def run(_progress: Any) -> Any:
            out = deepthink(from_wire(problem), time_limit=cap, stop=stop)
            return {k: v for k, v in out.items() if k != "analyzer"} | {"analyzer": {
                k: v for k, v in (out["analyzer"] or {}).items() if k != "features"}}

        return jsonable(await in_thread(run, None, stop))

    @server.tool()
    async def study(solvers: list[str], instances: list[str], time_limit: SkipValidation[float] = 0.5,
                    seeds: SkipValidation[int | None] = None) -> dict[str, Any]:
        """An ATLAS study: which of these solvers is best on these OptiBench instance specs (folder, qaplib:NAMES,
        generated:KIND:N[:SEEDS]) and when does each win — hypotheses with verdicts and evidence."""
        from mezan.agents.atlas import study as run_study  # the meta and bench extras
        from mezan.agents.atlas import study_budget  # the meta and bench extras
        from mezan.service.routes import jsonable  # the meta extra

        limit, count = argument(study_budget, time_limit), argument(seeds_argument, seeds)
        stop = threading.Event()

        def run(_progress: Any) -> Any:
            return run_study(solvers, instances, time_limit=limit, seeds=count, root=folder, stop=stop)

        return jsonable(await in_thread(run, None, stop))

    @server.tool()
    def instances() -> dict[str, Any]:
        """The bundled QAPLIB instances and their best-known values."""
        return {name: best_known(name) for name in shipped()}

    @server.tool()
    def metaflow_status() -> dict[str, Any]:
        """MetaFlow's history counts and ratings (the store under $MEZAN_HOME)."""
        from mezan.meta import MetaFlow  # the meta extra
        from mezan.service.routes import jsonable  # the meta extra

        return jsonable(MetaFlow().status())

    return server


def _exit_when_work_lingers(grace: float = EXIT_GRACE) -> None:
    """After the input ended: give the worker threads of dropped requests ``grace`` seconds to see their stop, then
    end the process even if one still runs (a third-party call that cannot be interrupted must not keep it alive;
    every store write is a transaction, so nothing half-written stays)."""
    deadline = time.monotonic() + grace
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.current_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def main(root: str | os.PathLike | None = None) -> int:
    """Serve over stdio until the client closes the connection; tools read files only under ``root``."""
    import anyio  # the mcp extra

    try:
        server = build_server(root)
    except ImportError:
        raise MezanError("`mezan mcp` needs the MCP SDK: pip install 'mezan[mcp]'") from None
    anyio.run(serve_stdio, server)
    _exit_when_work_lingers()
    return 0


__all__ = ["EXIT_GRACE", "ParseErrorsAnswered", "build_server", "main", "rpc_error", "serve_stdio", "server_root"]
