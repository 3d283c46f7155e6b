"""The MCP server's tools, one function per area (like the service's routers): solving, analysis, information.

Each ``add_*`` function registers its tools on an ``MCPServer``; :func:`build_server` makes the server and calls
them. Needs the ``mcp`` extra (the SDK, anyio and pydantic).
"""

# no `from __future__ import annotations`: the SDK reads the tools' annotations (the Context parameter among them)

import threading
import time
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import SkipValidation  # the schema of the type, the value as sent: MEZAN checks it

import mezan
from mezan import registry
from mezan.errors import MezanError
from mezan.mcp.arguments import analysis_cap, seed_argument, seeds_argument, server_root, time_limit_argument
from mezan.problems import from_wire
from mezan.qap import best_known, load, shipped
from mezan.results import to_plain

INSTRUCTIONS = ("MEZAN: solve optimization problems (QAP, scheduling, allocation, network design, robust problems), "
                "analyse them before solving, and run empirical studies of solvers.")
PROGRESS_INTERVAL = 0.2
"""Seconds between two progress notifications of one request."""


def plain(value: Any) -> Any:
    """A tool's answer as plain JSON: numpy to Python, non-finite floats to null (:func:`mezan.results.to_plain`)."""
    return to_plain(value, nonfinite="null")


def argument(parse: Any, value: Any) -> Any:
    """``parse(value)`` with MEZAN's validation error as a tool error (its message names the argument)."""
    try:
        return parse(value)
    except MezanError as exc:
        raise ToolError(str(exc)) from None


async def in_thread(fn: Any, ctx: Context | None, stop: threading.Event) -> Any:
    """Run ``fn(progress)`` in a worker thread; a cancelled request, or a client gone, sets ``stop``.

    ``progress(best, elapsed)`` reports to the client at most every :data:`PROGRESS_INTERVAL` seconds (when ``ctx``
    is given); a validation error of the work comes back as a tool error.
    """
    last = [0.0]

    def progress(best: float, elapsed: float) -> None:
        now = time.monotonic()
        if ctx is not None and now - last[0] >= PROGRESS_INTERVAL:
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


def add_solve_tools(server: MCPServer) -> None:
    """``solve`` (a wire-form problem or a composite request) and ``solve_instance`` (a bundled QAPLIB instance)."""

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

        return plain((await in_thread(run, ctx, stop)).to_dict())

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

        record = plain((await in_thread(run, ctx, stop)).to_dict())
        record.update(instance=name, best_known=problem.best_known)
        return record


def add_analysis_tools(server: MCPServer, folder: Path) -> None:
    """``analyze`` (DeepThink 3+1 on a problem) and ``study`` (ATLAS on instance specs read under ``folder``)."""

    @server.tool()
    async def analyze(problem: dict[str, Any], time_limit: SkipValidation[float | None] = None) -> dict[str, Any]:
        """DeepThink 3+1 on a wire-form problem: the Analyzer's, Optimizer's and Validator's findings and the
        Synthesizer's plan (solver, budget, seeds, explanation)."""
        from mezan.agents.deepthink import deepthink  # start-up time: the server answers before the agents load

        cap = argument(analysis_cap, time_limit)
        stop = threading.Event()

        def run(_progress: Any) -> Any:
            out = deepthink(from_wire(problem), time_limit=cap, stop=stop)
            return {k: v for k, v in out.items() if k != "analyzer"} | {"analyzer": {
                k: v for k, v in (out["analyzer"] or {}).items() if k != "features"}}

        return plain(await in_thread(run, None, stop))

    @server.tool()
    async def study(solvers: list[str], instances: list[str], time_limit: SkipValidation[float] = 0.5,
                    seeds: SkipValidation[int | None] = None) -> dict[str, Any]:
        """An ATLAS study: which of these solvers is best on these OptiBench instance specs (folder, qaplib:NAMES,
        generated:KIND:N[:SEEDS]) and when does each win — hypotheses with verdicts and evidence."""
        from mezan.agents.atlas import study as run_study  # start-up time: the server answers before ATLAS loads
        from mezan.agents.atlas import study_budget  # start-up time, as above

        limit, count = argument(study_budget, time_limit), argument(seeds_argument, seeds)
        stop = threading.Event()

        def run(_progress: Any) -> Any:
            return run_study(solvers, instances, time_limit=limit, seeds=count, root=folder, stop=stop)

        return plain(await in_thread(run, None, stop))


def add_info_tools(server: MCPServer) -> None:
    """``instances`` (the bundled QAPLIB set) and ``metaflow_status`` (MetaFlow's history and ratings)."""

    @server.tool()
    def instances() -> dict[str, Any]:
        """The bundled QAPLIB instances and their best-known values."""
        return {name: best_known(name) for name in shipped()}

    @server.tool()
    def metaflow_status() -> dict[str, Any]:
        """MetaFlow's history counts and ratings (the store under $MEZAN_HOME)."""
        from mezan.meta import MetaFlow  # start-up time: the server answers before MetaFlow loads

        return plain(MetaFlow().status())


def build_server(root: Any = None) -> MCPServer:
    """The MCP server with MEZAN's tools; its tools read files only under ``root`` (default: the working directory).

    Parameters
    ----------
    root : str or os.PathLike, optional
        The folder the ``study`` tool may read instance files from (:func:`mezan.mcp.server_root`).

    Returns
    -------
    mcp.server.mcpserver.MCPServer
        The server, not yet serving (:func:`mezan.mcp.serve_stdio` serves it).
    """
    folder = server_root(root)
    server = MCPServer("mezan", instructions=INSTRUCTIONS, version=mezan.__version__)
    add_solve_tools(server)
    add_analysis_tools(server, folder)
    add_info_tools(server)
    return server
