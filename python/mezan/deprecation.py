"""Old argument names that keep working for one release, with a DeprecationWarning (the changelog lists them)."""

from __future__ import annotations

import warnings
from typing import Any

from mezan.errors import InvalidParameterError


def renamed(function: str, old: str, new: str, old_value: Any, new_value: Any, *, stacklevel: int = 3) -> Any:
    """The value of an argument renamed from ``old`` to ``new``.

    Parameters
    ----------
    function : str
        The public name of the function, for the messages (``"mezan.qap.solve"``).
    old, new : str
        The deprecated and the current argument name.
    old_value, new_value : object
        What the caller passed under each name; None means not given.
    stacklevel : int
        Where the warning points: 3 is the caller of the function that calls this one.

    Returns
    -------
    object
        ``new_value``, or ``old_value`` (with a DeprecationWarning) when only the old name was given.

    Raises
    ------
    InvalidParameterError
        When both names were given.
    """
    if old_value is None:
        return new_value
    if new_value is not None:
        raise InvalidParameterError(f"{function}: give {new}= or its deprecated name {old}=, not both")
    warnings.warn(f"{function}: the argument {old}= is deprecated and will be removed in the next release; "
                  f"use {new}=", DeprecationWarning, stacklevel=stacklevel)
    return old_value
