"""Isolated solves: run a third-party call in a worker process that can be stopped at any moment.

Some libraries (HiGHS through scipy) take a time limit but no cancel signal, and may overrun their limit
on pathological input. :func:`run_isolated` runs such a call in a worker process and terminates the
process when ``stop`` is set or when the budget plus a grace period has passed, so every solve ends
within its budget and honours cancel, whatever the library does.

Workers are plain interpreters started as ``python -m mezan.isolated`` in a session of their own (never
forked from a process that runs solver or service threads, never re-importing the caller's ``__main__``,
never reached by a terminal's Ctrl-C), kept in a small pool of idle workers and reused: a call costs a
pickle round trip. The budget counts from the call, a worker's start-up included: :func:`prewarm` starts a worker
ahead of the first call (the flows do it when imported), a discarded worker is replaced in the background, and the
function run learns what is left of the caller's budget from :func:`remaining_seconds` (HiGHS gets that as its own
time limit). A worker that was stopped, crashed or failed is discarded; busy ones are killed when the caller exits,
and a worker whose caller died ends itself. Protocol: length-prefixed pickles of ``(fn, args, kwargs, until)`` on
the worker's stdin (``until``: the caller's deadline on the machine's monotonic clock); on its original stdout
``"started"`` when it begins the call, then ``(ok, value or exception)`` (the worker's own prints go to stderr).
"""

from __future__ import annotations

import atexit
import importlib
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

GRACE_SECONDS = 0.15
"""Seconds an isolated call may run past its budget (the library's own time limit, given what is left of the budget,
normally ends it first) before its worker is terminated."""
POLL_SECONDS = 0.01
MAX_IDLE_WORKERS = 4
_HEADER = struct.Struct("!Q")
_STARTED = "started"  # the worker's first message for a call: it has read it and starts it now
_PRELOAD: list[str] = []
_CALL_UNTIL = math.inf  # in a worker: the running call's deadline (time.monotonic(), the same clock in every process)


def begin_call(until: float) -> None:
    """In a worker: the call about to run has the caller's deadline ``until`` (``time.monotonic()``)."""
    global _CALL_UNTIL
    _CALL_UNTIL = until


def remaining_seconds() -> float:
    """Inside an isolated call: the seconds left of the caller's budget (``math.inf`` without one). A library with a
    time limit of its own is given this, so that a worker's start-up and the call's transport are not extra time."""
    return max(0.0, _CALL_UNTIL - time.monotonic())


def preload(module: str) -> None:
    """Import ``module`` in every worker when it starts (e.g. ``scipy.optimize``), so calls do not pay for it."""
    if module not in _PRELOAD:
        _PRELOAD.append(module)


def _encode(value: Any) -> bytes:
    """A message as sent: its pickle's length, then the pickle."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


def _write(stream: BinaryIO, value: Any) -> None:
    _write_bytes(stream, _encode(value))


def _write_bytes(stream: BinaryIO, message: bytes) -> None:
    data = memoryview(message)
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


class _Sender:
    """Writes a request to a worker on a thread of its own: a large request fills the pipe until a worker still
    starting reads it, and the caller must meanwhile keep watching its budget and ``stop``."""

    def __init__(self, worker: _Worker, message: bytes, retried: bool = False) -> None:
        self.error: OSError | None = None
        self.retried = retried
        self.thread = threading.Thread(target=self._send, args=(worker.requests, message), name="mezan-isolated-send",
                                       daemon=True)
        self.thread.start()

    def _send(self, stream: BinaryIO, message: bytes) -> None:
        try:
            _write_bytes(stream, message)
        except (OSError, ValueError) as exc:  # the worker died (or was killed: its pipe closed)
            self.error = exc if isinstance(exc, OSError) else OSError(str(exc))

    def failed(self) -> bool:
        return not self.thread.is_alive() and self.error is not None


class _Pool:
    """Idle workers to reuse, and the busy ones (so that exit can end them: a worker never outlives its caller)."""

    def __init__(self) -> None:
        self.idle: list[_Worker] = []
        self.busy: set[_Worker] = set()
        self.lock = threading.Lock()
        self.ready = threading.Condition(self.lock)  # notified when a worker started in the background is idle
        self.starting = 0  # workers being started in the background
        self.closed = False

    def take(self, until: float = math.inf, stop: Any = None) -> _Worker | None:
        """A live idle worker, else the one being started in the background once it is up, else a new one; None when
        ``until`` (a ``time.perf_counter()`` deadline) passes or ``stop`` is set while waiting for it."""
        with self.ready:
            while True:
                while self.idle:
                    worker = self.idle.pop()
                    if worker.alive():
                        worker.reused = True
                        self.busy.add(worker)
                        return worker
                    worker.kill()
                if not self.starting:
                    break
                left = until - time.perf_counter()
                if left <= 0 or (stop is not None and stop.is_set()):
                    return None
                self.ready.wait(min(left, POLL_SECONDS))
        return self.fresh()

    def fresh(self) -> _Worker:
        """A worker started now, for this caller."""
        worker = _Worker()
        with self.lock:
            self.busy.add(worker)
        return worker

    def prewarm(self) -> None:
        """Start a worker in the background unless one is idle or starting, so that a call need not wait for an
        interpreter's start-up."""
        with self.lock:
            if self.idle or self.starting or self.closed:
                return
            self.starting += 1
        threading.Thread(target=self._start_one, name="mezan-isolated-prewarm", daemon=True).start()

    def _start_one(self) -> None:
        worker: _Worker | None = None
        try:
            worker = _Worker()
        except OSError as exc:  # the next call starts its own and reports the failure
            logger.warning("could not start an isolated worker in the background: %s", exc)
        with self.ready:
            self.starting -= 1
            keep = worker is not None and not self.closed and len(self.idle) < MAX_IDLE_WORKERS
            if keep:
                self.idle.append(worker)  # type: ignore[arg-type]
            self.ready.notify_all()
        if worker is not None and not keep:
            worker.kill()

    def give_back(self, worker: _Worker) -> None:
        with self.lock:
            self.busy.discard(worker)
            if len(self.idle) < MAX_IDLE_WORKERS and worker.alive():
                self.idle.append(worker)
                return
        worker.kill()

    def discard(self, worker: _Worker) -> None:
        """End a worker (stopped, crashed or failed) and start its replacement in the background."""
        with self.lock:
            self.busy.discard(worker)
        worker.kill()
        self.prewarm()

    def close(self) -> None:
        with self.lock:
            self.closed = True
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


def prewarm() -> None:
    """Start an isolated worker in the background (with the modules :func:`preload` named so far), so that the first
    call does not spend its budget on an interpreter's start-up. The flows call it when they are imported."""
    _pool.prewarm()


@dataclass
class IsolatedRun:
    value: Any             # what fn returned; None when stopped
    stopped: str | None    # None (fn returned), "time_limit" (budget + grace passed) or "cancelled"
    wall_time: float


def run_isolated(fn: Callable[..., Any], *args: Any, time_limit: float = math.inf, stop: Any = None,
                 grace: float = GRACE_SECONDS, **kwargs: Any) -> IsolatedRun:
    """Run ``fn(*args, **kwargs)`` (a picklable module-level function) in a worker process; return its value,
    or stop it: the worker is terminated when ``stop.is_set()`` or on Ctrl-C (``stopped="cancelled"``), or
    ``time_limit + grace`` seconds after the call began, the wait for a worker included (``stopped="time_limit"``).
    ``fn`` can read what is left of ``time_limit`` with :func:`remaining_seconds`. An exception raised by ``fn`` is
    raised here; a worker that dies without answering raises :class:`mezan.errors.SolverFailedError`."""
    name = getattr(fn, "__qualname__", repr(fn))
    started = time.perf_counter()
    if stop is not None and stop.is_set():  # cancelled before it began: no worker is taken
        return IsolatedRun(None, "cancelled", 0.0)
    deadline = started + time_limit + grace
    request = (fn, args, kwargs, time.monotonic() + time_limit)
    stopped: str | None = None
    outcome: tuple[bool, Any] | None = None
    failure = ""
    try:
        taken = _pool.take(until=deadline, stop=stop)
    except KeyboardInterrupt:
        return IsolatedRun(None, "cancelled", time.perf_counter() - started)
    if taken is None:  # no worker was up before the budget ran out or the stop came
        stopped = "cancelled" if stop is not None and stop.is_set() else "time_limit"
        logger.info("isolated %s stopped (%s) while waiting for a worker", name, stopped)
        return IsolatedRun(None, stopped, time.perf_counter() - started)
    _pool.prewarm()  # a spare for the next call, should this one's worker be stopped
    worker: _Worker = taken
    try:
        payload = _encode(request)  # here: a call that does not pickle fails at once, in the caller
        sender = _Sender(worker, payload)
        poller = select.poll()  # not select(): it fails on descriptors >= 1024, which a busy server reaches
        poller.register(worker.replies, select.POLLIN)
        while True:
            if sender.failed() and worker.reused and not sender.retried:  # a reused worker that died while idle
                _pool.discard(worker)
                worker = _pool.fresh()
                sender = _Sender(worker, payload, retried=True)
                poller = select.poll()
                poller.register(worker.replies, select.POLLIN)
            if poller.poll(POLL_SECONDS * 1000):
                message = _read(worker.replies)
                if message == _STARTED:
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
    library = importlib.import_module("mezan.isolated")  # this file runs as __main__: the importable module is another
    for module in sys.argv[1:]:
        __import__(module)
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # anything the library prints goes to stderr, never into the protocol
    sys.stdout = sys.stderr
    while True:
        try:
            fn, args, kwargs, until = _read(requests)
        except EOFError:
            return
        library.begin_call(until)  # remaining_seconds() is read in that module, the one the called function imports
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
