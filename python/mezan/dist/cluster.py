"""DaskExecutor: tasks on a ``dask.distributed`` cluster — a scheduler at an address (``tcp://host:8786``), a
``LocalCluster`` it starts itself, or a ``distributed.Client`` the caller passes.

Functions and their arguments travel by pickle, so workers need the same MEZAN installed (the wheel: see the README);
on connecting, the executor checks that every worker imports the same MEZAN version and that Dask's own versions
agree (``Client.get_versions(check=True)``), and names the cause when they do not. Cancel and progress use Dask's own
primitives: a ``distributed.Event`` per task (the cancel signal, read at most every 0.2 s by the running task) and a
``distributed.Variable`` per task (its last progress, published at most every 0.2 s). The executor never writes a
store: tasks return results, the submitting process records them.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import mezan
from mezan.dist.executor import DistError, Executor, SchedulerLost, Task, TaskContext, new_key

POLL_SECONDS = 0.2
"""How often a running task asks the scheduler whether it was cancelled, and at most how often it publishes."""


LOST_NOTICE = 5.0
"""Seconds a task waits, after a connection closed under it, for its client to notice a lost scheduler."""


def _imports() -> Any:
    try:
        import distributed  # the distributed extra
    except ImportError:
        raise DistError("the Dask executor needs dask.distributed: pip install 'mezan[distributed]'") from None
    return distributed


class DaskContext(TaskContext):
    """A running task's view of its Dask submitter; picklable (names only, primitives bound on first use)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._event: Any = None
        self._variable: Any = None
        self._checked = 0.0
        self._cancelled = False
        self._published = 0.0

    def __getstate__(self) -> dict[str, Any]:
        return {"key": self.key}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["key"])  # type: ignore[misc]

    def is_set(self) -> bool:
        if self._cancelled:
            return True
        now = time.monotonic()
        if now - self._checked >= POLL_SECONDS:
            self._checked = now
            if self._event is None:
                self._event = _imports().Event(f"mezan-cancel-{self.key}")
            self._cancelled = bool(self._event.is_set())
        return self._cancelled

    def progress(self, value: Any) -> None:
        now = time.monotonic()
        if now - self._published < POLL_SECONDS:
            return
        self._published = now
        if self._variable is None:
            self._variable = _imports().Variable(f"mezan-progress-{self.key}")
        self._variable.set(value)


def _call(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any], context: DaskContext | None) -> Any:
    """What a worker runs: ``fn`` with the task's context added when it asked for one."""
    if context is not None:
        kwargs = {**kwargs, "context": context}
    return fn(*args, **kwargs)


def _worker_mezan_version() -> str:
    return mezan.__version__


class DaskTask(Task):
    def __init__(self, executor: DaskExecutor, future: Any, context: bool) -> None:
        self.executor, self.future, self.context = executor, future, context
        self.key = future.key
        self._last: Any = None
        self._released = False
        self._signalled = False  # a cancel event was set on the scheduler (cleared on release)
        self._ended: threading.Event | None = None

    def result(self, timeout: float | None = None) -> Any:
        distributed = _imports()
        try:
            return self.future.result(timeout=timeout)
        except (distributed.TimeoutError, TimeoutError):
            if self.executor.lost():
                raise self.executor.lost_error() from None
            raise DistError(f"task {self.key} did not finish within {timeout} s") from None
        except Exception as exc:
            if self.future.status == "error":  # the task's own exception
                raise
            if self.executor.lost() or "scheduler-connection-lost" in str(exc):
                raise self.executor.lost_error(exc) from None
            if isinstance(exc, (OSError, distributed.comm.CommClosedError)):
                # a connection closed under the gather: the client may not have noticed yet that its scheduler
                # is gone (its status still says running), so give it a moment before naming the cause
                if self.executor.lost_within(LOST_NOTICE):
                    raise self.executor.lost_error(exc) from None
                raise DistError(f"task {self.key}: the connection closed while its result was fetched "
                                f"({_cause(exc)})") from None
            if self.future.cancelled():
                if self.executor.client.status == "connecting":  # cancelled by the lost connection, not by anyone
                    raise self.executor.lost_error(exc) from None
                raise DistError(f"task {self.key} was cancelled before it ran") from None
            raise
        finally:
            if self.future.done():
                self.release()

    def done(self) -> bool:
        return bool(self.future.done())

    def wait(self, timeout: float) -> bool:
        if self._ended is None:  # set from the client's event loop when the future ends (no result() round trip)
            ended = self._ended = threading.Event()
            self.future.add_done_callback(lambda _: ended.set())
        return self._ended.wait(timeout) or self.done()

    def cancel(self) -> None:
        if not self.context:
            self.future.cancel()
            return
        self._signalled = True
        with contextlib.suppress(Exception):
            _imports().Event(f"mezan-cancel-{self.key}", client=self.executor.client).set()

    def progress(self) -> Any:
        if not self.context:
            return None
        if self._released:
            return self._last
        variable = _imports().Variable(f"mezan-progress-{self.key}", client=self.executor.client)
        try:
            self._last = variable.get(timeout=1.0)
        except Exception:  # the cluster is gone
            pass
        return self._last

    def release(self) -> None:
        """Drop the task's progress slot and cancel signal from the scheduler (once it has ended)."""
        if self.context and not self._released:
            self._released = True  # progress() answers the last value read from now on
            distributed = _imports()
            with contextlib.suppress(Exception):
                distributed.Variable(f"mezan-progress-{self.key}", client=self.executor.client).delete()
            if self._signalled:  # a set event stays on the scheduler until cleared
                with contextlib.suppress(Exception):
                    distributed.Event(f"mezan-cancel-{self.key}", client=self.executor.client).clear()


def _new_client(address: str, timeout: float) -> Any:
    """``distributed.Client(address)``, after collecting garbage: a Client left half-built by an earlier failed
    connection is finalised in a cycle collection, and its ``__del__`` stops its loop runner under a lock that every
    loop runner shares (``distributed.utils.LoopRunner._lock``) — run while another Client is starting, inside that
    lock, it deadlocks the process (seen in the test suite after a refused connection). Collecting first finalises it
    here, outside the lock."""
    import distributed  # the distributed extra
    from distributed.comm import parse_address, parse_host_port  # the distributed extra

    try:  # a malformed address is refused before a Client is built on it (half-built, it stalls the exit for 20 s)
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls"):
            parse_host_port(location, 8786)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"malformed scheduler address {address!r} (--scheduler, $MEZAN_SCHEDULER): {exc}") from None
    gc.collect()
    return distributed.Client(address, timeout=f"{timeout}s", set_as_default=False)


class DaskExecutor(Executor):
    """Tasks on a Dask cluster.

    Parameters
    ----------
    address : str, optional
        A running scheduler (``tcp://host:8786``).
    client : distributed.Client, optional
        A client the caller made (left open by :meth:`close`).
    local_cluster : int, optional
        Start a ``LocalCluster`` of this many worker processes on 127.0.0.1 (closed by :meth:`close`).
    threads_per_worker : int, default 1
        Threads of each worker of a ``local_cluster`` (ignored otherwise).
    timeout : float, default 10.0
        Seconds to connect and, with ``wait_for_workers``, for a first worker; past them a :class:`DistError`
        names the address and the cause (nothing hangs).
    wait_for_workers : bool, default True
        Wait for a first worker, then check that the workers run this client's Dask and MEZAN versions
        (:meth:`check_versions`).
    quiet : bool, default False
        Silence Dask's client log (a command line that reports the executor's errors itself: a lost scheduler is
        otherwise logged again, with tracebacks, by every reconnect attempt).

    Raises
    ------
    DistError
        When not exactly one of ``address``, ``client`` and ``local_cluster`` is given, ``local_cluster`` is not
        an integer >= 1, dask.distributed is not installed, the scheduler cannot be reached (or is not a Dask
        scheduler), no worker connects within ``timeout``, or the versions differ.
    """

    kind = "dask"

    def __init__(self, address: str | None = None, *, client: Any = None, local_cluster: int | None = None,
                 threads_per_worker: int = 1, timeout: float = 10.0, wait_for_workers: bool = True,
                 quiet: bool = False) -> None:
        distributed = _imports()
        if quiet:
            logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
        if sum(x is not None for x in (address, client, local_cluster)) != 1:
            raise DistError("give exactly one of address, client or local_cluster")
        self._cluster = None
        self._own_client = client is None
        if local_cluster is not None:
            if isinstance(local_cluster, bool) or not isinstance(local_cluster, int) or local_cluster < 1:
                raise DistError(f"local_cluster must be a number of workers >= 1, got {local_cluster!r}")

            gc.collect()  # see _new_client: a LocalCluster starts a loop runner too
            self._cluster = distributed.LocalCluster(n_workers=local_cluster, threads_per_worker=threads_per_worker,
                                                     processes=True, host="127.0.0.1", dashboard_address=":0",
                                                     silence_logs=logging.ERROR)
            address = self._cluster.scheduler_address
        if client is None:
            try:
                with warnings.catch_warnings():  # versions are compared below, and a mismatch named as an error
                    warnings.simplefilter("ignore", distributed.versions.VersionMismatchWarning)
                    try:
                        client = _new_client(address, timeout)
                    except AssertionError:  # seen once in a full test run: an internal check of distributed's
                        # connection handshake; a second attempt is a fresh connection (a real server of another
                        # protocol fails again and is named below)
                        client = _new_client(address, timeout)
            except (OSError, TimeoutError, distributed.TimeoutError) as exc:
                self._close_cluster()
                raise DistError(f"cannot connect to a Dask scheduler at {address} within {timeout:g} s: "
                                f"{_cause(exc)}") from None
            except Exception as exc:  # a server that speaks another protocol
                self._close_cluster()
                raise DistError(f"{address} is not a Dask scheduler: {_cause(exc)}") from None
        self.client = client
        self.address = str(client.scheduler.address)
        if wait_for_workers:
            try:
                client.wait_for_workers(1, timeout=timeout)
            except (TimeoutError, distributed.TimeoutError, OSError):
                self.close()
                raise DistError(f"no Dask worker connected to {self.address} within {timeout:g} s") from None
            self.check_versions()

    def version_problems(self) -> list[str]:
        """What differs between this client and its workers: Dask's and MEZAN's versions (empty when all agree)."""
        problems = []
        try:
            versions = self.client.get_versions()
        except Exception as exc:
            return [f"cannot read the versions of {self.address}: {_cause(exc)}"]
        mine = versions["client"]["packages"]
        for worker, info in (versions.get("workers") or {}).items():
            theirs = (info or {}).get("packages", {})
            for package in ("dask", "distributed"):
                if theirs.get(package) != mine.get(package):
                    problems.append(f"Dask version mismatch: this client runs {package} {mine.get(package)}, "
                                    f"worker {worker} of {self.address} runs {theirs.get(package)}")
        try:
            found = self.client.run(_worker_mezan_version)
        except Exception as exc:
            return [*problems, f"the workers of {self.address} cannot import mezan ({_cause(exc)}): install the "
                               f"same MEZAN wheel on every worker"]
        problems += [f"MEZAN version mismatch: this client runs {mezan.__version__}, worker {worker} of "
                     f"{self.address} runs {version}" for worker, version in found.items()
                     if version != mezan.__version__]
        return problems

    def check_versions(self) -> None:
        """Every worker must run the client's Dask and MEZAN versions; otherwise a :class:`DistError` names the
        first difference (and how many there are)."""
        problems = self.version_problems()
        if problems:
            self.close()
            more = f" ({len(problems) - 1} more)" if len(problems) > 1 else ""
            raise DistError(problems[0] + more)

    @property
    def capacity(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def lost(self) -> bool:
        """True when the client is no longer connected to its scheduler."""
        return self.client.status not in ("running", "connecting")

    def lost_within(self, seconds: float) -> bool:
        """True when the client finds itself disconnected from its scheduler within ``seconds`` (polled): lost, or
        trying to reconnect."""
        deadline = time.monotonic() + seconds
        while self.client.status == "running":
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def lost_error(self, exc: BaseException | None = None) -> SchedulerLost:
        cause = f": {_cause(exc)}" if exc is not None else ""
        return SchedulerLost(f"lost the Dask scheduler at {self.address}{cause}")

    def submit(self, fn: Callable[..., Any], *args: Any, context: bool = False, key: str | None = None,
               **kwargs: Any) -> Task:
        key = key or new_key(getattr(fn, "__name__", "task"))
        if self.lost():
            raise self.lost_error()
        if context:  # the progress slot exists before the task runs: reading it never waits
            _imports().Variable(f"mezan-progress-{key}", client=self.client).set(None)
        future = self.client.submit(_call, fn, args, kwargs, DaskContext(key) if context else None, key=key,
                                    pure=False)
        return DaskTask(self, future, context)

    def as_completed(self, tasks: Iterable[Task], timeout: float | None = None) -> Iterator[Task]:
        distributed = _imports()
        by_key = {task.key: task for task in tasks if isinstance(task, DaskTask)}
        if not by_key:
            return
        try:
            for future in distributed.as_completed([t.future for t in by_key.values()], timeout=timeout,
                                                    loop=self.client.loop):
                yield by_key[future.key]
        except (TimeoutError, distributed.TimeoutError):
            if self.lost():
                raise self.lost_error() from None
            raise DistError(f"tasks on {self.address} did not finish within {timeout} s") from None
        except (OSError, distributed.comm.CommClosedError) as exc:
            raise self.lost_error(exc) from None

    def describe(self) -> dict[str, Any]:
        try:
            threads = self.client.nthreads()
        except Exception:  # the scheduler is gone
            return {"kind": self.kind, "address": self.address, "workers": 0, "threads": 0, "connected": False}
        return {"kind": self.kind, "address": self.address, "workers": len(threads),
                "threads": sum(threads.values()), "connected": not self.lost()}

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()
            self._cluster = None

    def close(self) -> None:
        if self._own_client and getattr(self, "client", None) is not None:
            with contextlib.suppress(Exception):
                self.client.close(timeout=5)
        self._close_cluster()


def _cause(exc: BaseException | None) -> str:
    text = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["DaskContext", "DaskExecutor", "DaskTask"]
