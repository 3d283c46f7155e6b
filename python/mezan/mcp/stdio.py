"""The MCP server's stdio transport, made strict: every line that is not a JSON-RPC message is answered with an error
(-32700 Parse error, -32600 Invalid request), never dropped; ``NaN`` and ``Infinity`` are not JSON.

Needs the ``mcp`` extra (the SDK, anyio and pydantic).
"""

import io
import json
import sys
from typing import Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import ErrorData, JSONRPCError
from pydantic import ValidationError

PARSE_ERROR, INVALID_REQUEST = -32700, -32600


def rpc_error(exc: Exception) -> tuple[int, str]:
    """The JSON-RPC error for a line that did not parse: -32700 when it is not JSON, -32600 when it is JSON but not
    a JSON-RPC message (the message names what is wrong, never the line's content)."""
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
    lowlevel = server._lowlevel_server  # the SDK's own run_stdio_async does the same, less the answers
    lines = anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    async with stdio_server(stdin=ScreenedLines(lines)) as (read_stream, write_stream):  # type: ignore[arg-type]
        await lowlevel.run(ParseErrorsAnswered(read_stream, write_stream), write_stream,
                           lowlevel.create_initialization_options())
