"""Running a C++ solve from Python: seeds, budgets, progress callbacks and Ctrl-C.

Every solver entry point (``mezan.qap.solve``, ``mezan.evo.evolve``) validates its budget with
:func:`check_budget`, its seed with :func:`resolve_seed`, and runs the GIL-releasing core call
through :func:`run_controlled`, which polls progress for the callback and turns Ctrl-C into a
cancel request that returns the best result so far.
Third-party calls that cannot be interrupted run through :func:`mezan.isolated.run_isolated` instead.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mezan.errors import InvalidParameterError, StoppedError

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.02


def check_seed(seed: Any, name: str = "seed") -> Any:
    """``seed`` as given when it is None, an integer in [0, 2**63 - 1] or a numpy Generator/RandomState; else
    InvalidParameterError naming ``name`` (the one check of every entry point: library, CLI, HTTP, MCP)."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_INT64:
        raise InvalidParameterError(f"{name} must be an integer in [0, 2**63 - 1], a numpy Generator or None, "
                                    f"got {seed!r}")
    return int(seed)


def resolve_seed(seed: Any) -> int:
    """None -> fresh entropy; int >= 0 -> itself; numpy Generator/RandomState -> one draw from it."""
    seed = check_seed(seed)
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if isinstance(seed, np.random.RandomState):
        return int(seed.randint(0, 2**31 - 1))
    return int(seed)


def available_memory() -> int:
    """Bytes of memory available to this process (MemAvailable on Linux, else physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


MAX_INT64 = 2**63 - 1
MAX_THREADS = 1024
"""The largest ``threads`` any solver accepts (each thread holds its own search state)."""


def boolean(name: str, value: Any) -> bool:
    """``value`` as a bool, or InvalidParameterError naming ``name`` (no truthiness of arrays, strings or numbers)."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def real_number(name: str, value: Any, *, finite: bool = True) -> float:
    """``value`` as a float (ints of any size, numpy reals), or InvalidParameterError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidParameterError(f"{name} must be a real number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidParameterError(f"{name} is out of the range of a double, got {value!r}") from None
    if math.isnan(number):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}")
    if finite and math.isinf(number):
        raise InvalidParameterError(f"{name} must be finite, got {value!r}")
    return number


def numeric_array(name: str, value: Any, *, allow_bool: bool = False) -> np.ndarray:
    """``value`` as a real (integer or float) numpy array, or InvalidParameterError naming ``name`` (ragged
    lists, strings, complex and object values are refused, never passed on to a kernel; booleans become 0/1
    where ``allow_bool``, e.g. a permutation matrix)."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        raise InvalidParameterError(f"{name} must be an array of numbers with a regular shape") from None
    if arr.dtype == bool and allow_bool:
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iuf":  # not bool, complex, object, strings, nor timedelta64 (a numpy "integer")
        raise InvalidParameterError(f"{name} must hold real numbers, got {arr.dtype} values")
    return arr


def integer_at_least(name: str, value: Any, minimum: int = 1, maximum: int = MAX_INT64) -> int:
    """``value`` as an int in [minimum, maximum], or InvalidParameterError naming ``name`` (bools are not
    integers here; the default maximum is what the C++ core's 64-bit counters hold)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not (
            minimum <= value <= maximum):
        bound = f">= {minimum}" if maximum == MAX_INT64 else f"in [{minimum}, {maximum}]"
        raise InvalidParameterError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


def budget_seconds(value: Any, name: str = "time_limit", *, allow_infinite: bool = True) -> float:
    """A time limit as given at any boundary (library, CLI, HTTP, MCP, C2SC): a positive number of seconds — an int,
    a float or a numpy number, never a bool or a string (JSON ``true`` or ``"1"`` are mistakes, not 1 s) — returned
    as a float; ``inf`` (no limit) where ``allow_infinite``. Any finite positive budget is accepted, however large:
    the solvers saturate a budget past their clock's range. InvalidParameterError names ``name`` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidParameterError(f"{name} must be a number of seconds, got {value!r}")
    number = real_number(name, value, finite=False)
    if number <= 0:
        raise InvalidParameterError(f"{name} must be positive, got {value!r}")
    if math.isinf(number) and not allow_infinite:
        raise InvalidParameterError(f"{name} must be a finite number of seconds, got {value!r}")
    return number


def check_budget(time_limit: Any, max_iter: Any, cap_name: str = "max_iter") -> tuple[float, int]:
    """(seconds, 0 for none; iteration cap, -1 for none), errors naming ``time_limit`` / ``cap_name``."""
    if time_limit is None:
        limit = 0.0
    else:
        time_limit = budget_seconds(time_limit)
        limit = 0.0 if math.isinf(time_limit) else time_limit
    if max_iter is None:
        cap = -1
    else:
        cap = integer_at_least(cap_name, max_iter)
    return limit, cap


def time_limit_seconds(time_limit: Any) -> float:
    """The budget of a solver that takes one number of seconds: positive, ``math.inf`` for None or inf;
    the same checks and messages as :func:`check_budget`."""
    limit, _ = check_budget(time_limit, None)
    return math.inf if limit == 0.0 else limit


class StopCheck:
    """A caller's ``stop`` (anything with an ``is_set()`` method, e.g. a ``threading.Event``), read safely by a solver:
    an ``is_set()`` that raises counts as a stop request, and its error is kept (:attr:`error`) so that the caller can
    raise it once the solver has ended (:meth:`raise_error`), instead of a thread dying while the search runs on."""

    def __init__(self, stop: Any) -> None:
        if stop is not None and not callable(getattr(stop, "is_set", None)):
            raise InvalidParameterError(f"stop must be None or have an is_set() method (e.g. a threading.Event), "
                                        f"got {type(stop).__name__}")
        self.stop = stop
        self.error: BaseException | None = None

    def is_set(self) -> bool:
        if self.error is not None:
            return True
        if self.stop is None:
            return False
        try:
            return bool(self.stop.is_set())
        except Exception as exc:
            self.error = exc
            return True

    def raise_error(self) -> None:
        """Raise :class:`InvalidParameterError` naming ``stop`` when its ``is_set()`` raised."""
        if self.error is not None:
            raise InvalidParameterError(f"stop.is_set() raised {type(self.error).__name__}: {self.error}") \
                from self.error


def raise_if_stopped(stop: Any, error: type[StoppedError], what: str) -> None:
    """Raise ``error`` (a :class:`mezan.errors.StoppedError`) saying that ``what`` was stopped when ``stop`` (None, or
    anything with ``is_set()``) is set: the check between two units of work that have no best so far to return."""
    if stop is not None and stop.is_set():
        raise error(f"the {what} was stopped (its stop was set) before it ended")


def stop_check(stop: Any) -> StopCheck:
    """``stop`` as a :class:`StopCheck` (one already is: returned as it is); InvalidParameterError naming ``stop``
    when it has no ``is_set()``."""
    return stop if isinstance(stop, StopCheck) else StopCheck(stop)


def seconds_left(time_limit: float, started: float) -> float:
    """What is left of a budget of ``time_limit`` seconds begun at ``started`` (``time.perf_counter()``), at least 0:
    the budget a solver gives each of its steps, so that the steps together end within the solver's limit."""
    return max(0.0, time_limit - (time.perf_counter() - started))


@dataclass
class ControlledRun:
    result: Any          # what the core call returned
    wall_time: float     # seconds, measured around the call
    interrupted: bool    # Ctrl-C cancelled the run


def run_controlled(call: Callable[[], Any], control: Any, *, progress: Callable | None = None,
                   sign: int = 1, stop: Any = None) -> ControlledRun:
    """Run ``call()`` — a core function that releases the GIL and reports to ``control`` (a
    ``_core.SolveControl``) — on a worker thread, while this thread polls ``control.snapshot()``
    every 20 ms and calls ``progress(sign * best, elapsed)`` when the best improves. ``progress``
    returning True cancels, and so does ``stop.is_set()`` (e.g. a ``threading.Event``); a ``progress``
    exception cancels and is re-raised; Ctrl-C cancels and the best-so-far result of ``call()`` is
    returned with ``interrupted=True``.
    """
    stop = stop_check(stop)
    outcome: dict[str, Any] = {}
    # Waited on instead of Thread.join: a Ctrl-C inside join() can leave the thread looking finished
    # (CPython gh-90882); an interrupted Event.wait cannot.
    done = threading.Event()

    def work() -> None:
        try:
            outcome["result"] = call()
        except BaseException as exc:  # re-raised in the calling thread
            outcome["error"] = exc
        finally:
            done.set()

    last_reported: float | None = None
    callback_error: BaseException | None = None

    def report_progress() -> None:
        nonlocal last_reported
        best, elapsed, _ = control.snapshot()
        if best is not None and (last_reported is None or best < last_reported):
            last_reported = best
            if progress is not None and progress(sign * best, elapsed) is True:
                control.cancel()

    started = time.perf_counter()
    threading.Thread(target=work, name="mezan-solve", daemon=True).start()
    interrupted = False
    try:
        while not done.wait(POLL_SECONDS):
            if stop.is_set():
                control.cancel()
            if progress is not None and callback_error is None:
                try:
                    report_progress()
                except BaseException as exc:
                    callback_error = exc
                    control.cancel()
    except KeyboardInterrupt:
        interrupted = True
        logger.info("interrupted: cancelling the solve and returning the best so far")
        control.cancel()
    done.wait()
    if callback_error is not None:
        raise callback_error
    stop.raise_error()
    if "error" in outcome:
        raise outcome["error"]
    if progress is not None:
        report_progress()
    return ControlledRun(outcome["result"], time.perf_counter() - started, interrupted)



def reports_final_objective(solve: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a solver whose library works in one call (HiGHS, networkx): ``progress(objective, wall_time)``
    is called once with the objective it returns, so every solver of the suite reports the objective it found
    (solvers that improve step by step call ``progress`` themselves as they go)."""

    takes_progress = "progress" in inspect.signature(solve).parameters  # read once, at decoration

    @functools.wraps(solve)
    def reporting(*args: Any, progress: Callable[[float, float], Any] | None = None, **kwargs: Any) -> Any:
        if takes_progress:
            result = solve(*args, progress=progress, **kwargs)
        else:
            result = solve(*args, **kwargs)
        objective = getattr(result, "objective", None)
        if progress is not None and objective is not None and math.isfinite(objective):
            progress(float(objective), float(getattr(result, "wall_time", 0.0) or 0.0))
        return result

    return reporting
