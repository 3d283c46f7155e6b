"""``mezan mcp``: the MCP server on stdio (:mod:`mezan.mcp`)."""

from __future__ import annotations

import typer

from mezan.cli import common
from mezan.mcp import main as serve_mcp


def register(app: typer.Typer) -> None:
    """Add ``mezan mcp``."""

    @app.command("mcp", short_help=common.about("mcp"))
    def mcp_server(root: str = typer.Option(None, "--root", help="the only folder whose files the tools read "
                                                                "(default: the working directory); qaplib: names "
                                                                "also come from $MEZAN_QAPLIB")):
        """Serve MEZAN's tools over MCP on stdio (for assistants)."""
        return serve_mcp(root=root)
