"""The validators every problem record shares: numbers, matrices, scenario stacks, scale limits, and the
guard that turns a parser's stray TypeError/KeyError on a malformed wire form into an InvalidProblemError."""

from __future__ import annotations

import functools
from typing import Any, overload

import numpy as np

from mezan.errors import InvalidProblemError

MAX_OBJECTIVE_SCALE = 1e300
"""Largest n^2 max|A| max|B| (QAP and EvoFlow's permutation problems) the C++ core accepts
(``kMaxObjectiveScale`` in ``mezan/qap/instance.hpp``): every objective, swap delta, relaxation product and
LAP potential then stays finite in double with a factor 1e8 to spare."""

MAX_LP_VALUE = 1e12
"""Largest magnitude of a number in the linear-programming families (allocation, network design, robust
assignment and allocation, matrix games, workflow durations and capacities). HiGHS treats 1e20 as infinite
and its tolerances are relative to about 1e-9, so beyond this its answers are not reliable; data this large
should be rescaled (e.g. to thousands)."""


def read_only(array: np.ndarray, source: Any) -> np.ndarray:
    """``array`` made read-only for a record: a copy when it shares memory with the caller's ``source``, so that
    the caller's array stays writable and a later change to it cannot change the record (or its fingerprint)."""
    if isinstance(source, np.ndarray) and np.may_share_memory(array, source):
        array = array.copy()
    array.setflags(write=False)
    return array


def max_abs(arr: np.ndarray) -> float:
    """Return the largest absolute value of an array's entries, as a float.

    Exact for integer arrays too: ``np.abs`` wraps -2**63 to itself in int64, so integer arrays are measured from
    their minimum and maximum instead.

    Parameters
    ----------
    arr : numpy.ndarray
        A numeric array of any shape.

    Returns
    -------
    float
        ``max(abs(entry))`` over the entries; 0.0 for an empty array.
    """
    if arr.size == 0:
        return 0.0
    if np.issubdtype(arr.dtype, np.integer):
        return float(max(abs(int(arr.min())), abs(int(arr.max()))))
    return float(np.max(np.abs(arr)))


def check_scale(names: str, scale_terms: list[float], limit: float = MAX_OBJECTIVE_SCALE, what: str = "") -> None:
    """Refuse data whose objective scale exceeds a limit.

    The scale is the product of ``scale_terms``, computed in logs (the product itself may overflow); a zero term
    makes it 0, which always passes.

    Parameters
    ----------
    names : str
        The fields the data came from, named in the error (e.g. ``"A and B"``).
    scale_terms : list of float
        The factors of the scale (e.g. ``[n, n, max_abs(A), max_abs(B)]``).
    limit : float, default MAX_OBJECTIVE_SCALE
        The largest scale accepted (:data:`MAX_OBJECTIVE_SCALE`, 1e300).
    what : str, optional
        What the scale bounds, for the error message (default: "the objective scale").

    Raises
    ------
    InvalidProblemError
        When the scale is beyond ``limit`` (or not finite), naming ``names`` and the bound.
    """
    if any(t == 0 for t in scale_terms):
        return
    log_scale = float(sum(np.log10(abs(t)) for t in scale_terms))
    if not np.isfinite(log_scale) or log_scale > np.log10(limit):
        raise InvalidProblemError(
            f"{names}: {what or 'the objective scale'} is about 1e{log_scale:.0f}, beyond {limit:.0e}, the largest "
            f"MEZAN computes reliably in double precision; rescale the data")


def check_magnitude(name: str, arr: np.ndarray, limit: float = MAX_LP_VALUE) -> None:
    """Refuse an array with an entry beyond a limit in magnitude.

    Parameters
    ----------
    name : str
        The array's field name, used in the error.
    arr : numpy.ndarray
        The numeric array to check.
    limit : float, default MAX_LP_VALUE
        The largest magnitude accepted (:data:`MAX_LP_VALUE`, 1e12).

    Raises
    ------
    InvalidProblemError
        When an entry exceeds ``limit`` in magnitude, naming the first such entry by its index.
    """
    if max_abs(arr) > limit:
        index = tuple(int(k) for k in np.argwhere(np.abs(arr) > limit)[0])
        where = "".join(f"[{k}]" for k in index)
        raise InvalidProblemError(f"{name}{where} = {arr[index]:g} exceeds {limit:.0e} in magnitude, the largest value "
                                  f"the LP solver handles reliably; rescale the data")


def wire_form(parse: Any) -> Any:
    """Decorate a record's ``from_dict`` so that malformed wire data always raises InvalidProblemError.

    A field of the wrong kind that the parser trips over before naming it (a bool where a list belongs, a list
    where a name belongs, ...) is an InvalidProblemError too, never a bare TypeError, ValueError or KeyError from
    the depths of the parser.

    Parameters
    ----------
    parse : callable
        The record's ``from_dict(cls, data)`` (decorated before ``classmethod``).

    Returns
    -------
    callable
        ``parse`` wrapped: InvalidProblemError passes through; TypeError, ValueError, KeyError, IndexError,
        AttributeError and OverflowError become InvalidProblemError ("malformed <type> problem: ...").
    """

    @functools.wraps(parse)
    def guarded(cls: Any, data: Any) -> Any:
        try:
            return parse(cls, data)
        except InvalidProblemError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            kind = getattr(cls, "problem_type", cls.__name__)
            raise InvalidProblemError(f"malformed {kind} problem: {type(exc).__name__}: {exc}") from None

    return guarded


def as_matrix(name: str, value: Any) -> np.ndarray:
    """Convert a value to a finite, numeric, square 2-D array.

    Parameters
    ----------
    name : str
        The argument's name, used in every error.
    value : array_like
        A square matrix of real numbers (booleans are read as 0 and 1).

    Returns
    -------
    numpy.ndarray
        The matrix (integer or float dtype; not copied when ``value`` already is one).

    Raises
    ------
    InvalidProblemError
        When ``value`` is ragged, not real (complex, strings, objects), not square 2-D, or holds a NaN or an
        infinity (named by its index).
    """
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError):  # ragged lists and the like
        raise InvalidProblemError(f"{name} cannot be read as a matrix: give a list of equally long rows of "
                                  f"numbers") from None
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iuf":  # not complex, object, strings, nor timedelta64 (a numpy "integer")
        raise InvalidProblemError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise InvalidProblemError(f"{name} must be a square 2-D matrix, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr)
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            raise InvalidProblemError(f"{name} has a non-finite value ({arr[i, j]}) at [{i}, {j}]")
    return arr



def _show(value: Any) -> str:
    """A number for a message (an int too large for a float is shown by its digits)."""
    try:
        return f"{value:g}"
    except OverflowError:
        digits = str(value)
        return f"{digits[:6]}... ({len(digits.lstrip('-'))} digits)"


@overload
def _number(where: str, value: Any) -> float: ...
@overload
def _number(where: str, value: Any, *, allow_none: bool) -> float | None: ...


def _number(where: str, value: Any, *, allow_none: bool = False) -> float | None:
    """A finite real number (bools refused), naming ``where`` in the error; None passes only with
    ``allow_none``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidProblemError(f"{where} must be a number, got {value!r}")
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        raise InvalidProblemError(f"{where} must be finite, got {value!r}")
    magnitude = abs(int(value)) if isinstance(value, (int, np.integer)) else abs(float(value))
    if magnitude > MAX_LP_VALUE:  # Python ints of any size compare exactly
        raise InvalidProblemError(f"{where} = {_show(value)} exceeds {MAX_LP_VALUE:.0e} in magnitude, the largest "
                                  f"value the LP solver handles reliably; rescale the data")
    return float(value)


def _whole(where: str, value: Any) -> int:
    """A non-negative whole number (CP-SAT schedules in integer time and resource units)."""
    number = _number(where, value)
    if number < 0 or number != int(number):
        raise InvalidProblemError(f"{where} must be a whole number >= 0 (integer units), got {value!r}")
    return int(number)


def _is_index(value: Any, count: int) -> bool:
    """An int (not a bool) in [0, count)."""
    return bool(isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
                and 0 <= value < count)


def _scenario_stack(name: str, value: Any, square: bool) -> np.ndarray:
    """A non-empty stack of equally shaped finite matrices (scenarios), naming ``name`` in errors."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except OverflowError:
        raise InvalidProblemError(f"{name} holds a number beyond the range of a double") from None
    except (TypeError, ValueError) as exc:
        raise InvalidProblemError(f"{name} must be a list of equally shaped numeric matrices: {exc}") from exc
    if arr.ndim != 3 or arr.shape[0] < 1:
        raise InvalidProblemError(f"{name} must be a non-empty list of matrices, got shape {arr.shape}")
    if square and arr.shape[1] != arr.shape[2]:
        raise InvalidProblemError(f"{name} must hold square matrices, got {arr.shape[1]}x{arr.shape[2]}")
    bad = ~np.isfinite(arr)
    if bad.any():
        s, i, j = (int(k) for k in np.argwhere(bad)[0])
        raise InvalidProblemError(f"{name}[{s}] has a non-finite value at [{i}, {j}]")
    return read_only(arr, value)

