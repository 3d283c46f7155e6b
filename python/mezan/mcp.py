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

Bad arguments come back as tool errors whose message names the field (MEZAN's own validation messages).
"""

# no `from __future__ import annotations`: the SDK reads the tools' annotations (the Context parameter among them)

import threading
import time
from typing import Any

from mezan.errors import MezanError


def _plain(result: Any) -> dict[str, Any]:
    from mezan.service.routes import jsonable

    return jsonable(result.to_dict())


def build_server() -> Any:
    """The MCP server (an ``mcp.server.mcpserver.MCPServer``) with MEZAN's tools."""
    import anyio
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    import mezan

    server = MCPServer("mezan", instructions="MEZAN: solve optimization problems (QAP, scheduling, allocation, "
                                              "network design, robust problems), analyse them before solving, and run "
                                              "empirical studies of solvers.", version=mezan.__version__)

    async def in_thread(fn: Any, ctx: Context | None, stop: threading.Event) -> Any:
        """Run ``fn(progress)`` in a worker thread; a cancelled request sets ``stop``."""
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
    async def solve(problem: dict[str, Any], ctx: Context, time_limit: float = 10.0,
                    seed: int | None = None) -> dict[str, Any]:
        """Solve a wire-form problem ({"type": "qap", "A": [[...]], "B": [[...]]}, or any registered type) or a
        composite request ({"type": "composite", ...}); MetaFlow picks the solver. Returns the result record."""
        if not isinstance(time_limit, (int, float)) or not time_limit > 0:
            raise ToolError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
        stop = threading.Event()

        def run(progress: Any) -> Any:
            options: dict[str, Any] = {"time_limit": float(time_limit), "seed": seed, "stop": stop}
            if problem.get("type") == "composite":
                return mezan.solve(problem, **options)
            return mezan.solve(problem, callback=progress, **options)

        return _plain(await in_thread(run, ctx, stop))

    @server.tool()
    async def solve_instance(name: str, ctx: Context, time_limit: float = 5.0,
                             seed: int | None = None) -> dict[str, Any]:
        """Solve a bundled QAPLIB instance by name (see the instances tool) with QAPFlow's auto mode."""
        from mezan.qap import instances

        if name not in instances.shipped():
            raise ToolError(f"name: no bundled instance {name!r}; bundled: {', '.join(instances.shipped())}")
        stop = threading.Event()
        problem = instances.load(name)

        def run(progress: Any) -> Any:
            from mezan.qap import solve as qap_solve

            return qap_solve(problem, None, time_limit=float(time_limit), seed=seed, stop=stop, callback=progress)

        result = await in_thread(run, ctx, stop)
        record = _plain(result)
        record.update(instance=name, best_known=problem.best_known)
        return record

    @server.tool()
    async def analyze(problem: dict[str, Any], time_limit: float | None = None) -> dict[str, Any]:
        """DeepThink 3+1 on a wire-form problem: the Analyzer's, Optimizer's and Validator's findings and the
        Synthesizer's plan (solver, budget, seeds, explanation)."""
        from mezan.agents.deepthink import deepthink
        from mezan.problems import from_wire

        def run(_progress: Any) -> Any:
            out = deepthink(from_wire(problem), time_limit=time_limit)
            return {k: v for k, v in out.items() if k != "analyzer"} | {"analyzer": {
                k: v for k, v in (out["analyzer"] or {}).items() if k != "features"}}

        from mezan.service.routes import jsonable

        return jsonable(await in_thread(run, None, threading.Event()))

    @server.tool()
    async def study(solvers: list[str], instances: list[str], time_limit: float = 0.5,
                    seeds: int | None = None) -> dict[str, Any]:
        """An ATLAS study: which of these solvers is best on these OptiBench instance specs (folder, qaplib:NAMES,
        generated:KIND:N[:SEEDS]) and when does each win — hypotheses with verdicts and evidence."""
        from mezan.agents.atlas import study as run_study
        from mezan.service.routes import jsonable

        return jsonable(await in_thread(lambda _p: run_study(solvers, instances, time_limit=time_limit,
                                                               seeds=seeds), None, threading.Event()))

    @server.tool()
    def instances() -> dict[str, Any]:
        """The bundled QAPLIB instances and their best-known values."""
        from mezan.qap import best_known, shipped

        return {name: best_known(name) for name in shipped()}

    @server.tool()
    def metaflow_status() -> dict[str, Any]:
        """MetaFlow's history counts and ratings (the store under $MEZAN_HOME)."""
        from mezan.meta import MetaFlow
        from mezan.service.routes import jsonable

        return jsonable(MetaFlow().status())

    return server


def main() -> int:
    """Serve over stdio until the client closes the connection."""
    try:
        server = build_server()
    except ImportError:
        raise MezanError("`mezan mcp` needs the MCP SDK: pip install 'mezan[mcp]'") from None
    server.run("stdio")
    return 0


__all__ = ["build_server", "main"]
