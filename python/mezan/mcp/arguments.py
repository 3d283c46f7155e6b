"""The MCP tools' arguments, checked by the library's own parsers (no SDK coercion), and the folder they may read."""

import math
import os
from pathlib import Path
from typing import Any

from mezan.errors import InvalidParameterError
from mezan.running import integer_at_least, resolve_seed, time_limit_seconds


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
