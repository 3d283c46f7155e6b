"""Isolated solves: run a third-party call in a worker process that can be stopped at any moment.

Some libraries (HiGHS through scipy) take a time limit but no cancel signal, and may overrun their limit
on pathological input. :func:`run_isolated` runs such a call in a worker process and terminates the
process when ``stop`` is set or when the budget plus a grace period has passed, so every solve ends
within its budget and honours cancel, whatever the library does.

Workers are plain interpreters started as ``python -m mezan.isolated`` in a session of their own (never
forked from a process that runs solver or service threads, never re-importing the caller's ``__main__``,
never reached by a terminal's Ctrl-C), kept in a small pool of idle workers and reused: a call costs a
pickle round trip, the first one also an interpreter start (not counted in the call's budget). A worker
that was stopped, crashed or failed is discarded; busy ones are killed when the caller exits, and a worker
whose caller died ends itself. Protocol: length-prefixed pickles of ``(fn, args, kwargs)`` on the worker's
stdin; on its original stdout ``"started"`` when it begins the call, then ``(ok, value or exception)``
(the worker's own prints go to stderr).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from mezan.errors import SolverFailedError

logger = logging.getLogger(__name__)

GRACE_SECONDS = 2.0
"""Seconds an isolated call may run past its budget (the library's own time limit normally ends it first)
before its worker is terminated."""
POLL_SECONDS = 0.02
STARTUP_SECONDS = 60.0
"""How long a new worker may take to start (an interpreter and scipy's import, on a loaded machine) on top of
the call's budget before the call counts as timed out."""
MAX_IDLE_WORKERS = 4
_HEADER = struct.Struct("!Q")
_STARTED = "started"  # the worker's first message for a call: it has read it and starts it now
_PRELOAD: list[str] = []


def preload(module: str) -> None:
    """Import ``module`` in every worker when it starts (e.g. ``scipy.optimize``), so calls do not pay for it."""
    if module not in _PRELOAD:
        _PRELOAD.append(module)


def _write(stream: BinaryIO, value: Any) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:  # an unbuffered pipe may take a large message in several writes
        written = stream.write(data)
        data = data[written or 0:]
    stream.flush()


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the stream ended")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read(stream: BinaryIO) -> Any:
    (size,) = _HEADER.unpack(_read_exactly(stream, _HEADER.size))
    return pickle.loads(_read_exactly(stream, size))


class _Worker:
    def __init__(self) -> None:
        # A session of its own: a terminal's Ctrl-C reaches the caller (which stops the call), not the worker.
        self.process = subprocess.Popen([sys.executable, "-m", "mezan.isolated", *_PRELOAD], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, bufsize=0, start_new_session=True)
        if self.process.stdin is None or self.process.stdout is None:  # cannot happen with PIPE; for the types
            raise SolverFailedError("the worker process has no pipes")
        self.requests: BinaryIO = self.process.stdin  # type: ignore[assignment]  # unbuffered: a raw file
        self.replies: BinaryIO = self.process.stdout  # type: ignore[assignment]
        self.reused = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class _Pool:
    """Idle workers to reuse, and the busy ones (so that exit can end them: a worker never outlives its caller)."""

    def __init__(self) -> None:
        self.idle: list[_Worker] = []
        self.busy: set[_Worker] = set()
        self.lock = threading.Lock()

    def take(self, fresh: bool = False) -> _Worker:
        with self.lock:
            while self.idle and not fresh:
                worker = self.idle.pop()
                if worker.alive():
                    worker.reused = True
                    self.busy.add(worker)
                    return worker
                worker.kill()
        worker = _Worker()
        with self.lock:
            self.busy.add(worker)
        return worker

    def give_back(self, worker: _Worker) -> None:
        with self.lock:
            self.busy.discard(worker)
            if len(self.idle) < MAX_IDLE_WORKERS and worker.alive():
                self.idle.append(worker)
                return
        worker.kill()

    def discard(self, worker: _Worker) -> None:
        with self.lock:
            self.busy.discard(worker)
        worker.kill()

    def close(self) -> None:
        with self.lock:
            busy, self.busy = list(self.busy), set()
        for worker in busy:  # in the middle of a call: it would only run on, orphaned
            worker.kill()
        with self.lock:
            idle, self.idle = self.idle, []
        for worker in idle:
            if worker.process.stdin is not None:
                worker.process.stdin.close()  # the worker exits on end of input
            try:
                worker.process.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                pass
            worker.kill()


_pool = _Pool()
atexit.register(_pool.close)


@dataclass
class IsolatedRun:
    value: Any             # what fn returned; None when stopped
    stopped: str | None    # None (fn returned), "time_limit" (budget + grace passed) or "cancelled"
    wall_time: float


def run_isolated(fn: Callable[..., Any], *args: Any, time_limit: float = math.inf, stop: Any = None,
                 grace: float = GRACE_SECONDS, **kwargs: Any) -> IsolatedRun:
    """Run ``fn(*args, **kwargs)`` (a picklable module-level function) in a worker process; return its value,
    or stop it: the worker is terminated when ``stop.is_set()`` or on Ctrl-C (``stopped="cancelled"``), or
    ``time_limit + grace`` seconds after the start (``stopped="time_limit"``). An exception raised by ``fn`` is
    raised here; a worker that dies without answering raises :class:`mezan.errors.SolverFailedError`."""
    name = getattr(fn, "__qualname__", repr(fn))
    started = time.perf_counter()
    if stop is not None and stop.is_set():  # cancelled before it began: no worker is taken
        return IsolatedRun(None, "cancelled", 0.0)
    # Re-armed when the worker starts the call (its own start-up is not the call's budget); until then a worker
    # that cannot even start is bounded too.
    deadline = started + time_limit + grace + STARTUP_SECONDS
    stopped: str | None = None
    outcome: tuple[bool, Any] | None = None
    failure = ""
    worker = _pool.take()
    try:
        try:
            _write(worker.requests, (fn, args, kwargs))
        except OSError:  # a reused worker that died while idle: one fresh try
            if not worker.reused:
                raise
            _pool.discard(worker)
            worker = _pool.take(fresh=True)
            _write(worker.requests, (fn, args, kwargs))
        poller = select.poll()  # not select(): it fails on descriptors >= 1024, which a busy server reaches
        poller.register(worker.replies, select.POLLIN)
        while True:
            if poller.poll(POLL_SECONDS * 1000):
                message = _read(worker.replies)
                if message == _STARTED:
                    deadline = time.perf_counter() + time_limit + grace
                    continue
                outcome = message
                break
            if stop is not None and stop.is_set():
                stopped = "cancelled"
                break
            if time.perf_counter() > deadline:
                stopped = "time_limit"
                break
    except KeyboardInterrupt:
        stopped = "cancelled"
    except (EOFError, OSError, pickle.PicklingError, pickle.UnpicklingError, AttributeError, TypeError) as exc:
        failure = f"{type(exc).__name__}: {exc}"
    finally:
        if outcome is None:
            _pool.discard(worker)
        else:
            _pool.give_back(worker)
    wall = time.perf_counter() - started
    if stopped is not None:
        logger.info("isolated %s stopped (%s) after %.2f s", name, stopped, wall)
        return IsolatedRun(None, stopped, wall)
    if outcome is None:
        raise SolverFailedError(f"{name} ended without an answer (worker exit code {worker.process.returncode}; "
                                f"{failure})")
    ok, payload = outcome
    if not ok:
        raise payload
    return IsolatedRun(payload, None, wall)


def _watch_parent(parent: int) -> None:
    """End this worker when its caller is gone (killed, or exited without closing the pipe): never an orphan."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _serve() -> None:
    """The worker's loop: read a call, say it started, run it, write its outcome; exit at the end of input."""
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    for module in sys.argv[1:]:
        __import__(module)
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # anything the library prints goes to stderr, never into the protocol
    sys.stdout = sys.stderr
    while True:
        try:
            fn, args, kwargs = _read(requests)
        except EOFError:
            return
        _write(replies, _STARTED)
        try:
            outcome: tuple[bool, Any] = (True, fn(*args, **kwargs))
        except Exception as exc:  # sent to the caller, which re-raises it
            outcome = (False, exc)
        try:
            _write(replies, outcome)
        except Exception as exc:  # the value or the exception does not pickle
            _write(replies, (False, SolverFailedError(f"the outcome could not be sent back ({type(exc).__name__}: "
                                                      f"{exc})")))


if __name__ == "__main__":
    _serve()
