"""The bounded solver pool and the persistent jobs behind ``/jobs`` (and the synchronous routes).

``workers`` threads run solves (the C++ core releases the GIL); at most ``queue_limit`` solves wait
beyond them — one more is refused with :class:`QueueFull` (the HTTP layer answers 503 + Retry-After).
A job is a row of the ``jobs`` table from submission on: status queued -> running -> done | failed |
cancelled | interrupted, its progress (best objective, elapsed, the anytime curve) written at most
every ``PROGRESS_EVERY`` seconds while it runs. A server that shuts down marks its queued and running
jobs ``interrupted`` (a running one keeps its best-so-far as result); one that dies leaves them for
the next server to mark so at start (their last written progress kept). Finished results are served
from the table after any restart.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any

from mezan.errors import InvalidParameterError, MezanError
from mezan.service.routes import Work, jsonable
from mezan.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    solver TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    best REAL,
    elapsed REAL,
    curve TEXT NOT NULL,
    result TEXT,
    error TEXT,
    owner TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created);
"""
FINAL = ("done", "failed", "cancelled", "interrupted")
PROGRESS_EVERY = 0.5
CANCEL_WAIT = 10.0  # seconds DELETE /jobs/{id} waits for a running solver to hand back its best
_COLUMNS = ("id", "route", "solver", "status", "created", "started", "finished", "best", "elapsed", "curve", "result",
            "error", "owner")


class QueueFull(MezanError):
    """Every worker is busy and the queue is at its limit."""


class JobNotFound(InvalidParameterError):
    pass


@dataclass
class Job:
    """A job as stored: ``curve`` the anytime curve [[elapsed, best], ...]; ``result`` the route's
    response once done (or the best-so-far result of a cancelled job)."""

    id: str
    route: str
    solver: str
    status: str
    created: float
    started: float | None = None
    finished: float | None = None
    best: float | None = None
    elapsed: float | None = None
    curve: list[list[float]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: str | None = None
    owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"id": self.id, "route": self.route, "solver": self.solver, "status": self.status,
                         "created": self.created, "started": self.started, "finished": self.finished,
                         "progress": {"best_objective": self.best, "elapsed": self.elapsed},
                         "curve": self.curve, "result": self.result, "error": self.error})


@dataclass
class _Task:
    work: Work
    future: Future
    job_id: str | None
    stop: threading.Event = field(default_factory=threading.Event)
    curve: list[list[float]] = field(default_factory=list)
    written: float = 0.0
    started: float | None = None  # time.monotonic() when a worker took it


class JobQueue:
    def __init__(self, store: Store, workers: int = 2, queue_limit: int = 64, on_finish=None) -> None:
        self.store = store
        self.queue_limit = queue_limit
        self.on_finish = on_finish or (lambda solver, status: None)
        store.define(_SCHEMA)
        with store.transaction() as db:
            self.interrupted = db.execute(
                "UPDATE jobs SET status = 'interrupted', finished = ?, error = 'the server stopped before this job "
                "finished; its best-so-far is kept' WHERE status IN ('queued', 'running')", (time.time(),)).rowcount
        self._waiting: deque[_Task] = deque()
        self._live: dict[str, _Task] = {}
        self._running = 0
        self._cond = threading.Condition()
        self._closed = False
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self.open()

    def open(self) -> None:
        """Start the worker threads (again, after :meth:`close`)."""
        with self._cond:
            self._closed = False
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self._workers:
                t = threading.Thread(target=self._worker, name=f"mezan-solver-{len(self._threads)}", daemon=True)
                t.start()
                self._threads.append(t)

    # ---- state ------------------------------------------------------------------------------
    def depth(self) -> int:
        return len(self._waiting)

    def in_flight(self) -> int:
        return self._running

    def workers_alive(self) -> int:
        return sum(t.is_alive() for t in self._threads)

    # ---- submitting -------------------------------------------------------------------------
    def submit(self, work: Work, *, job: bool = False, owner: str | None = None) -> tuple[str | None, Future]:
        """Queue a solve; ``job=True`` persists it as a job (returns its id). Raises QueueFull."""
        task = _Task(work, Future(), secrets.token_hex(8) if job else None)
        with self._cond:
            if self._closed:
                raise QueueFull("the server is shutting down")
            if len(self._waiting) >= self.queue_limit:
                raise QueueFull(f"{self._running} solves running and {len(self._waiting)} waiting "
                                f"(queue limit {self.queue_limit})")
            if task.job_id:
                with self.store.transaction() as db:
                    db.execute("INSERT INTO jobs (id, route, solver, status, created, curve, owner) "
                               "VALUES (?, ?, ?, 'queued', ?, '[]', ?)",
                               (task.job_id, work.route, work.solver, time.time(), owner))
                self._live[task.job_id] = task
            self._waiting.append(task)
            self._cond.notify()
        return task.job_id, task.future

    def retry_after(self) -> int:
        """Seconds a refused client should wait: the shortest time limit among the waiting solves, + 1."""
        with self._cond:
            limits = [t.work.time_limit for t in self._waiting] or [1.0]
        return max(1, int(min(limits)) + 1)

    # ---- jobs -------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        rows = self.store.query(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise JobNotFound(f"no job with id {job_id!r}")
        values = dict(zip(_COLUMNS, rows[0], strict=True))
        values["curve"] = json.loads(values["curve"])
        values["result"] = None if values["result"] is None else json.loads(values["result"])
        job = Job(**values)
        task = self._live.get(job_id)
        if task is not None and job.status == "running":  # fresher than the last write
            if task.curve:
                job.curve = list(task.curve)
                job.best = task.curve[-1][1]
            if task.started is not None:
                job.elapsed = time.monotonic() - task.started
        return job

    def recent(self, limit: int = 20) -> list[Job]:
        rows = self.store.query("SELECT id FROM jobs ORDER BY created DESC LIMIT ?", (limit,))
        return [self.get(r[0]) for r in rows]

    def cancel(self, job_id: str) -> Job:
        """Cancel a job: a queued one never starts; a running one stops and keeps its best-so-far."""
        job = self.get(job_id)
        if job.status in FINAL:
            return job
        with self._cond:
            task = self._live.get(job_id)
            if task is not None and task in self._waiting:
                self._waiting.remove(task)
                self._finish(task, "cancelled", None, "cancelled before it started")
                return self.get(job_id)
        if task is not None:
            task.stop.set()
            wait([task.future], timeout=CANCEL_WAIT)  # the solver returns its best (solvers poll stop often)
        return self.get(job_id)

    # ---- running ----------------------------------------------------------------------------
    def _worker(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if self._closed and not self._waiting:
                    return
                task = self._waiting.popleft()
                self._running += 1
            try:
                self._run(task)
            finally:
                with self._cond:
                    self._running -= 1

    def _progress(self, task: _Task):
        def progress(best: float, elapsed: float) -> None:
            task.curve.append([float(elapsed), float(best)])
            now = time.monotonic()
            if task.job_id and now - task.written >= PROGRESS_EVERY:
                task.written = now
                with self.store.transaction() as db:
                    db.execute("UPDATE jobs SET best = ?, elapsed = ?, curve = ? WHERE id = ?",
                               (float(best), float(elapsed), json.dumps(task.curve), task.job_id))
        return progress

    def _run(self, task: _Task) -> None:
        task.started = time.monotonic()
        if task.job_id:
            with self.store.transaction() as db:
                db.execute("UPDATE jobs SET status = 'running', started = ? WHERE id = ?", (time.time(), task.job_id))
        try:
            result = jsonable(task.work.run(task.stop, self._progress(task)))
        except MezanError as exc:
            self._finish(task, "failed", None, str(exc))
            task.future.set_exception(exc)
            return
        except Exception as exc:  # a bug: the job fails with a plain message, the server lives on
            self._finish(task, "failed", None, f"internal error in {task.work.solver}: {type(exc).__name__}")
            task.future.set_exception(exc)
            return
        status = "done" if not task.stop.is_set() else ("interrupted" if self._closed else "cancelled")
        self._finish(task, status, result, None)
        task.future.set_result(result)

    def _finish(self, task: _Task, status: str, result: dict[str, Any] | None, error: str | None) -> None:
        self.on_finish(task.work.solver, status if result is None else str(result.get("status", status)))
        if not task.job_id:
            return
        best = elapsed = None
        if task.curve:
            elapsed, best = task.curve[-1]
        if result is not None:
            best = result.get("objective_value", result.get("objective", best))
        if task.started is not None:  # a job that ran: its elapsed is its whole run, not its last improvement
            elapsed = time.monotonic() - task.started
        with self.store.transaction() as db:
            db.execute("UPDATE jobs SET status = ?, finished = ?, best = ?, elapsed = ?, curve = ?, result = ?, "
                       "error = ? WHERE id = ?",
                       (status, time.time(), best, elapsed, json.dumps(task.curve),
                        None if result is None else json.dumps(result), error, task.job_id))
        self._live.pop(task.job_id, None)
        if result is None and not task.future.done() and status in ("cancelled", "interrupted"):
            task.future.cancel()

    def close(self, wait: float = 10.0) -> None:
        """Shut down: waiting solves never start (their jobs become ``interrupted``), running ones are
        told to stop and their jobs end ``interrupted`` with the best-so-far as result; waits up to
        ``wait`` seconds for them."""
        with self._cond:
            self._closed = True
            waiting, self._waiting = list(self._waiting), deque()
            self._cond.notify_all()
        for task in waiting:
            self._finish(task, "interrupted", None, "the server stopped before this job started")
        for task in list(self._live.values()):
            task.stop.set()
        deadline = time.monotonic() + wait
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
