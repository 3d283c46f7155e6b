"""The executor interface every layer that runs independent work uses (sweeps, races, C2SC stages, islands, the
service): submit a function, get a future-like :class:`Task`, collect tasks in completion order, cancel them.

A task that takes a ``context=`` keyword (``submit(..., context=True)``) receives a :class:`TaskContext`: it sees a
cancel request through ``context.is_set()`` — so the context itself is a solver's ``stop`` — and publishes progress
through ``context.progress(value)``, which the submitter reads with :meth:`Task.progress`. Implementations:
:class:`mezan.dist.local.LocalExecutor` (threads or processes of this machine, the default) and
:class:`mezan.dist.cluster.DaskExecutor` (a ``dask.distributed`` cluster). Nothing here knows about solvers.
"""

from __future__ import annotations

import itertools
import math
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mezan.deprecation import renamed
from mezan.errors import MezanError


class DistError(MezanError, RuntimeError):
    """The executor cannot do its work: the cluster is unreachable or lost, or its workers cannot run MEZAN; the
    message names the address and the cause."""


class SchedulerLost(DistError):
    """The executor lost its scheduler: the tasks not finished are gone (those recorded stay recorded)."""


class TaskContext(ABC):
    """What a running task sees of its submitter: a cancel signal and a progress channel."""

    @abstractmethod
    def is_set(self) -> bool:
        """True once the submitter cancelled the task (``threading.Event`` spelling: a context is a ``stop``)."""

    @abstractmethod
    def progress(self, value: Any) -> None:
        """Publish the task's latest progress (small and picklable, e.g. ``(best, elapsed)``); the last one wins."""


class Task(ABC):
    """A submitted task: a future with a key, a cancel that reaches the running task, and its last progress."""

    key: str

    @abstractmethod
    def result(self, timeout: float | None = None) -> Any:
        """The task's return value (its exception re-raised); waits up to ``timeout`` seconds (None: no limit)."""

    @abstractmethod
    def done(self) -> bool: ...

    @abstractmethod
    def cancel(self) -> None:
        """Ask the task to stop. A task with a context sees ``context.is_set()`` (when it runs, or at once when it
        starts later) and returns what it has (a solver: its best so far), which :meth:`result` then returns; a task
        without one is dropped if it has not started (:meth:`result` then raises :class:`DistError`)."""

    @abstractmethod
    def progress(self) -> Any:
        """The last value the task published with ``context.progress``, or None."""

    @abstractmethod
    def wait(self, timeout: float) -> bool:
        """Block until the task is done or ``timeout`` seconds pass; True when done (never raises its error)."""


class Executor(ABC):
    """Runs independent tasks. ``capacity`` is how many run at once (threads, processes or cluster threads)."""

    kind: str = "executor"

    @property
    @abstractmethod
    def capacity(self) -> int: ...

    @abstractmethod
    def submit(self, fn: Callable[..., Any], *args: Any, context: bool = False, key: str | None = None,
               **kwargs: Any) -> Task:
        """Run ``fn(*args, **kwargs)`` (plus ``context=TaskContext`` when ``context``); ``key`` names the task
        (unique per submit; a fresh one by default)."""

    @abstractmethod
    def as_completed(self, tasks: Iterable[Task], timeout: float | None = None) -> Iterator[Task]:
        """The tasks in the order they finish (raises :class:`DistError` when ``timeout`` passes first)."""

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], context: bool = False) -> list[Task]:
        """One task per element (``zip`` of the iterables), in input order."""
        return [self.submit(fn, *args, context=context) for args in zip(*iterables, strict=False)]

    def describe(self) -> dict[str, Any]:
        """What the executor runs on, for reports and ``/health``: kind, workers, threads."""
        return {"kind": self.kind, "workers": 1, "threads": self.capacity}

    def close(self) -> None:  # noqa: B027  (not abstract: an executor that starts nothing has nothing to release)
        """Release what the executor started (pools, a local cluster); a client passed in is left open."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_COUNTER = itertools.count()


def new_key(prefix: str = "mezan") -> str:
    """A task key unique across processes and submits."""
    return f"{prefix}-{next(_COUNTER)}-{uuid.uuid4().hex[:12]}"




CANCEL_GRACE = 10.0
"""Seconds :func:`watch` waits for cancelled tasks to hand back what they have (a task queued on a cluster with no
worker never does)."""


def watch(tasks: list[Task], *, stop: Any = None, progress: Callable[[Task, Any], Any] | None = None,
          until: float | None = None, poll: float = 0.05,
          on_progress: Callable[[Task, Any], Any] | None = None) -> bool:
    """Wait for tasks, relaying a caller's cancel to them and their progress to the caller.

    Parameters
    ----------
    tasks : list of Task
        The tasks to wait for.
    stop : object, optional
        Anything with ``is_set()``: once set, every task is asked to cancel.
    progress : callable, optional
        ``progress(task, value)`` for each task's new progress value; returning True cancels them all.
    until : float, optional
        A ``time.monotonic()`` deadline: the tasks still running then are cancelled.
    poll : float
        Seconds between two looks at the tasks.
    on_progress : callable, optional
        Deprecated name of ``progress``.

    Returns
    -------
    bool
        True when every task finished without a cancel. Waiting ends :data:`CANCEL_GRACE` seconds after a cancel.
    """
    progress = renamed("mezan.dist.watch", "on_progress", "progress", on_progress, progress)
    seen: dict[str, Any] = {}
    cancelled = False
    while not all(t.done() for t in tasks):
        if not cancelled and stop is not None and stop.is_set():
            cancelled = True
            until = min(until or math.inf, time.monotonic() + CANCEL_GRACE)
            for t in tasks:
                t.cancel()
        if progress is not None and not cancelled:
            for t in tasks:
                value = t.progress()
                if value is not None and value != seen.get(t.key):
                    seen[t.key] = value
                    if progress(t, value):
                        cancelled = True
                        until = min(until or math.inf, time.monotonic() + CANCEL_GRACE)
                        for task in tasks:
                            task.cancel()
                        break
        if until is not None and time.monotonic() > until:
            for t in tasks:
                if not t.done():
                    t.cancel()
            return False
        pending = [t for t in tasks if not t.done()]
        if pending:  # wakes as soon as it ends: no poll latency
            pending[0].wait(poll)
    return not cancelled


__all__ = ["CANCEL_GRACE", "DistError", "Executor", "SchedulerLost", "Task", "TaskContext", "new_key", "watch"]
