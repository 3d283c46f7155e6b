"""LocalExecutor: the default executor, the threads (or processes) of this machine.

Threads suit MEZAN's solves (the C++ core releases the GIL); processes suit Python-heavy tasks (model fitting).
The cancel signal and the progress channel are a ``threading.Event`` and a slot with threads, a manager's ``Event``
and ``dict`` with processes (started only when a task asks for a context).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from typing import Any

from mezan.dist.executor import DistError, Executor, Task, TaskContext, new_key
from mezan.errors import InvalidParameterError


class _ThreadContext(TaskContext):
    def __init__(self) -> None:
        self.event = threading.Event()
        self.last: Any = None

    def is_set(self) -> bool:
        return self.event.is_set()

    def progress(self, value: Any) -> None:
        self.last = value


class _ProcessContext(TaskContext):
    """Picklable: manager proxies reconnect from the worker process."""

    event: Any

    def __init__(self, event: Any, slots: Any, key: str) -> None:
        self.event, self.slots, self.key = event, slots, key

    def is_set(self) -> bool:
        return bool(self.event.is_set())

    def progress(self, value: Any) -> None:
        self.slots[self.key] = value


class LocalTask(Task):
    def __init__(self, key: str, future: futures.Future, context: TaskContext | None) -> None:
        self.key, self.future, self.context = key, future, context

    def result(self, timeout: float | None = None) -> Any:
        try:
            return self.future.result(timeout)
        except futures.TimeoutError:
            raise DistError(f"task {self.key} did not finish within {timeout} s") from None
        except futures.CancelledError:
            raise DistError(f"task {self.key} was cancelled before it ran") from None

    def done(self) -> bool:
        return self.future.done()

    def wait(self, timeout: float) -> bool:
        futures.wait([self.future], timeout=timeout)
        return self.future.done()

    def cancel(self) -> None:
        if self.context is None:
            self.future.cancel()
        else:  # it runs (now or when its turn comes), sees the cancel and returns what it has
            self.context.event.set()

    def progress(self) -> Any:
        if isinstance(self.context, _ThreadContext):
            return self.context.last
        if isinstance(self.context, _ProcessContext):
            return self.context.slots.get(self.key)
        return None


class LocalExecutor(Executor):
    """Run tasks on this machine's threads or, with ``processes=True``, worker processes.

    Threads suit MEZAN's solves (the C++ core releases the GIL); processes (started with ``spawn``) suit
    Python-heavy tasks, whose functions and arguments must then be picklable.

    Parameters
    ----------
    workers : int or None, optional
        How many tasks run at once, >= 1 (default: the machine's cores).
    processes : bool, default False
        Run the tasks in worker processes instead of threads.

    Raises
    ------
    InvalidParameterError
        When ``workers`` is not an integer >= 1.
    """

    def __init__(self, workers: int | None = None, *, processes: bool = False) -> None:
        if workers is None:
            workers = os.cpu_count() or 1
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidParameterError(f"workers must be an integer >= 1, got {workers!r}")
        self.workers, self.processes = workers, bool(processes)
        self.kind = "local-processes" if processes else "local-threads"
        self._pool: futures.Executor = (
            futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if processes
            else futures.ThreadPoolExecutor(workers, thread_name_prefix="mezan-task"))
        self._manager: Any = None
        self._slots: Any = None

    @property
    def capacity(self) -> int:
        return self.workers

    def _context(self, key: str) -> TaskContext:
        if not self.processes:
            return _ThreadContext()
        if self._manager is None:
            self._manager = multiprocessing.get_context("spawn").Manager()
            self._slots = self._manager.dict()
        return _ProcessContext(self._manager.Event(), self._slots, key)

    def submit(self, fn: Callable[..., Any], *args: Any, context: bool = False, key: str | None = None,
               **kwargs: Any) -> Task:
        key = key or new_key()
        ctx = self._context(key) if context else None
        if ctx is not None:
            kwargs["context"] = ctx
        return LocalTask(key, self._pool.submit(fn, *args, **kwargs), ctx)

    def as_completed(self, tasks: Iterable[Task], timeout: float | None = None) -> Iterator[Task]:
        by_future = {task.future: task for task in tasks if isinstance(task, LocalTask)}
        try:
            for future in futures.as_completed(by_future, timeout=timeout):
                yield by_future[future]
        except futures.TimeoutError:
            raise DistError(f"{sum(not f.done() for f in by_future)} tasks did not finish within {timeout} s") from None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers if self.processes else 1, "threads": self.workers}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = None


__all__ = ["LocalExecutor", "LocalTask"]
