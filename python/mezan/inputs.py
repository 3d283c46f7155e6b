"""Reading the files a user names: one reader per kind of content, with bounds, for every entry point.

The CLI (``mezan solve FILE.json``, ``mezan analyze FILE.json``), OptiBench's instance specs (``mezan bench
register``, studies, the MCP server) and the ASlib reader read user files only through these functions, so every
one of them refuses the same things with the same messages: a file too large (:data:`MAX_FILE_BYTES`), text that is
not UTF-8 (the byte offset is named), JSON that does not parse (line and column named) or that nests deeper than
:data:`MAX_JSON_DEPTH`. A message names the file and what was expected where, and never echoes the file's content.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from mezan.errors import InvalidParameterError, InvalidProblemError

MAX_FILE_BYTES = 256 * 2**20
"""The largest file read (256 MiB: a wire-form QAP of n = 3,000 written as JSON takes about 100 MiB)."""

MAX_JSON_DEPTH = 100
"""The deepest nesting of arrays and objects a JSON file may have (wire-form problems and composite requests
nest fewer than 10 levels; Python's own parser gives up near 1,000)."""

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
"""A JSON string (skipped: brackets inside it do not nest) or a bracket."""


MAX_SHOWN = 200
"""The most characters of a path a message shows."""


def shown(path: str | os.PathLike) -> str:
    """A path as a message shows it: control and other unprintable characters escaped (a newline in a file's name
    never splits a one-line message; a name that is not UTF-8 shows its escapes), at most :data:`MAX_SHOWN`
    characters."""
    text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return escaped if len(escaped) <= MAX_SHOWN else escaped[:MAX_SHOWN] + "..."


def file_status(path: str | os.PathLike, what: str) -> os.stat_result:
    """The ``stat`` of a file a user named, or InvalidParameterError naming it and what is wrong: a NUL byte in
    the path, a name too long, no such file, no permission, a folder."""
    text = os.fspath(path)
    if ("\0" in text) if isinstance(text, str) else (b"\0" in text):
        raise InvalidParameterError(f"{what} {shown(path)}: a path cannot hold a NUL byte")
    try:
        info = os.stat(text)
    except OSError as exc:
        raise InvalidParameterError(f"{what} {shown(path)}: cannot read it ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InvalidParameterError(f"{what} {shown(path)}: is a folder, a file is expected")
    return info


def regular_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` when it names a regular file, else InvalidParameterError naming it (see :func:`file_status`; a pipe,
    a device or a socket is refused too: opening one may wait for a writer that never comes)."""
    if not stat.S_ISREG(file_status(path, what).st_mode):
        raise InvalidParameterError(f"{what} {shown(path)}: not a regular file (a pipe, device or socket)")
    return Path(path)


def _size(path: Path, what: str, max_bytes: int) -> None:
    size = file_status(path, what).st_size
    if size > max_bytes:
        raise InvalidProblemError(f"{what} {shown(path)}: {size:,} bytes, more than the {max_bytes:,} bytes a file "
                                  f"may have")


def check_size(path: str | os.PathLike, *, what: str = "file", max_bytes: int = MAX_FILE_BYTES) -> None:
    """Refuse a file that cannot be read or is larger than ``max_bytes``, before anything reads it.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        What the file is, for the message (``"problem file"``, ``"instance file"``, ...).
    max_bytes : int
        The largest size accepted.

    Raises
    ------
    InvalidParameterError
        The file is missing, unreadable or a folder.
    InvalidProblemError
        The file is larger than ``max_bytes``.
    """
    _size(Path(path), what, max_bytes)


def read_bytes(path: str | os.PathLike, *, what: str = "file", max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes, at most ``max_bytes`` of them (a device or pipe that never ends is cut off and refused).

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        What the file is, for the message.
    max_bytes : int
        The largest size accepted.

    Returns
    -------
    bytes
        The whole file.

    Raises
    ------
    InvalidParameterError
        The file is missing, unreadable or a folder.
    InvalidProblemError
        The file is larger than ``max_bytes``.
    """
    path = Path(path)
    _size(path, what, max_bytes)
    try:  # without blocking on open: a named pipe that nobody writes to reads as empty instead of waiting forever
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InvalidParameterError(f"{what} {shown(path)}: cannot read it ({exc.strerror or exc})") from None
    try:
        os.set_blocking(fd, True)  # a pipe with a writer (e.g. /dev/stdin) is then read to its end
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidParameterError(f"{what} {shown(path)}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise InvalidProblemError(f"{what} {shown(path)}: more than the {max_bytes:,} bytes a file may have")
    return data


def read_text(path: str | os.PathLike, *, what: str = "file", max_bytes: int = MAX_FILE_BYTES) -> str:
    """A UTF-8 text file's content (a leading byte-order mark dropped), bounded as :func:`read_bytes`.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        What the file is, for the message.
    max_bytes : int
        The largest size accepted.

    Returns
    -------
    str
        The text.

    Raises
    ------
    InvalidParameterError
        The file is missing, unreadable or a folder.
    InvalidProblemError
        The file is too large, or not UTF-8 (the message names the offset of the first bad byte).
    """
    data = read_bytes(path, what=what, max_bytes=max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidProblemError(f"{what} {shown(path)}: not UTF-8 text (byte {exc.start} of the file)") from None
    return text[1:] if text.startswith("\ufeff") else text


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings do not count).

    Parameters
    ----------
    text : str
        JSON text (a malformed one gives a depth too, good enough to refuse it before parsing).

    Returns
    -------
    int
        0 for a scalar, 1 for ``[1, 2]``, 2 for ``[[1]]``, ...
    """
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def parse_json(text: str, *, source: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON text from ``source`` (named in the messages), refusing nesting deeper than ``max_depth``.

    Parameters
    ----------
    text : str
        The JSON text.
    source : str
        What the text is and where it came from, e.g. ``"problem file x.json"``.
    max_depth : int
        The deepest nesting accepted.

    Returns
    -------
    Any
        The parsed value.

    Raises
    ------
    InvalidProblemError
        The text is not JSON (line and column named) or nests too deep.
    """
    depth = json_depth(text)
    if depth > max_depth:
        raise InvalidProblemError(f"{source}: arrays and objects nest {depth:,} deep, more than the {max_depth} "
                                  f"levels a JSON input may have")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidProblemError(f"{source}, line {exc.lineno} column {exc.colno}: not valid JSON "
                                  f"({exc.msg.lower()})") from None
    except RecursionError:  # the pre-scan bounds the depth; this is the parser's own limit, lower than ours
        raise InvalidProblemError(f"{source}: arrays and objects nest too deep to parse") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise InvalidProblemError(f"{source}: not valid JSON ({exc})") from None
    if "\\u" in text:  # escapes may spell half of a surrogate pair, which no UTF-8 text (a store, an output) holds
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidProblemError(f"{source}: a string holds an unpaired surrogate escape (\\ud800-\\udfff "
                                      f"alone), which is not Unicode text") from None
    return value


def read_json(path: str | os.PathLike, *, what: str = "problem file", max_bytes: int = MAX_FILE_BYTES,
              max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A JSON file's value: size, UTF-8 and nesting checked before it is parsed.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        What the file is, for the messages (``"problem file"``, ``"instance file"``, ``"study spec"``, ...).
    max_bytes : int
        The largest file accepted.
    max_depth : int
        The deepest nesting of arrays and objects accepted.

    Returns
    -------
    Any
        The parsed value (a dict, list, str, number, bool or None).

    Raises
    ------
    InvalidParameterError
        The file is missing, unreadable or a folder.
    InvalidProblemError
        The file is too large, not UTF-8, not JSON, or nested too deep; the message names the file and where.
    """
    text = read_text(path, what=what, max_bytes=max_bytes)
    return parse_json(text, source=f"{what} {shown(path)}", max_depth=max_depth)


__all__ = ["MAX_FILE_BYTES", "MAX_JSON_DEPTH", "MAX_SHOWN", "check_size", "file_status", "json_depth", "parse_json",
           "read_bytes", "read_json", "read_text", "regular_file", "shown"]
