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

The package: :mod:`mezan.mcp.arguments` (the tools' arguments and root), :mod:`mezan.mcp.tools` (the tools, by
area, and :func:`build_server`), :mod:`mezan.mcp.stdio` (the strict stdio transport). Only this module loads
without the ``mcp`` extra, so that ``mezan mcp`` can name the extra it lacks.
"""

import importlib
import os
import sys
import threading
import time
from typing import Any

from mezan.errors import MezanError
from mezan.mcp.arguments import server_root

EXIT_GRACE = 1.0
"""Seconds the server waits, after its input ends, for the work of the requests it dropped to see their stop."""

_IN_SUBMODULES = {"build_server": "mezan.mcp.tools", "serve_stdio": "mezan.mcp.stdio",
                  "rpc_error": "mezan.mcp.stdio", "ParseErrorsAnswered": "mezan.mcp.stdio"}


def __getattr__(name: str) -> Any:
    """The names that need the ``mcp`` extra, loaded when first used (PEP 562)."""
    if name in _IN_SUBMODULES:
        return getattr(importlib.import_module(_IN_SUBMODULES[name]), name)
    raise AttributeError(f"module 'mezan.mcp' has no attribute {name!r}")


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
    try:
        import anyio  # the mcp extra

        from mezan.mcp.stdio import serve_stdio  # the mcp extra
        from mezan.mcp.tools import build_server  # the mcp extra
    except ImportError:
        raise MezanError("`mezan mcp` needs the MCP SDK: pip install 'mezan[mcp]'") from None
    anyio.run(serve_stdio, build_server(root))
    _exit_when_work_lingers()
    return 0


__all__ = ["EXIT_GRACE", "ParseErrorsAnswered", "build_server", "main", "rpc_error", "serve_stdio", "server_root"]
