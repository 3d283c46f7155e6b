"""The bounded solver pool and the persistent jobs behind ``/jobs`` (and the synchronous routes).

``workers`` threads run solves (the C++ core releases the GIL) — or, given an executor (``mezan serve
--scheduler``), hand them to a Dask cluster and wait for them there, with the same queue, cancel and progress; at most
``queue_limit`` solves wait beyond them — one more is refused with :class:`QueueFull` (the HTTP layer answers 503 +
Retry-After).
Each solve belongs to an owner (the API key that sent it): an owner may hold at most its ``quota`` of
queued + running solves, and one that already holds a solve cannot take the last ``reserved`` queue
slots — both refused with :class:`QuotaExceeded` (429) — so no key can fill the queue for the others;
and workers take the waiting solves round-robin over owners, so no key's backlog delays the others' solves.

A watchdog thread fails a solve still running ``grace(time_limit)`` seconds past its time limit
("stuck": its future gets :class:`SolverStuck`, its stop flag is set), abandons the thread that runs it
and starts a replacement, so a solver that never returns costs a thread, never the pool's capacity; a
worker thread that died is replaced the same way.
A job is a row of the ``jobs`` table from submission on: status queued -> running -> done | failed |
cancelled | interrupted, its progress (best objective, elapsed, the anytime curve) written at most
every ``PROGRESS_EVERY`` seconds while it runs. A server that shuts down marks its running jobs ``interrupted``
(each keeps its best-so-far as result) and hands its queued ones back to the store, still queued and held by no
replica, for another replica or the next start to take over. Finished results are served from the table after any
restart.

Replicas (several servers on one store, :mod:`mezan.store`): each job row names the replica that holds it and a lease
(``lease_until``) that replica renews every ``lease / 3`` seconds (at most every second) while the job is queued or
running. Every replica reads every job (status, progress, result); a cancel sent to another replica than the holder
sets the row's ``cancel`` flag, which the holder reads at its next renewal and acts on. A replica whose lease expired
(or, on this machine, whose process is gone) is dead: the first replica to claim its jobs — ``SELECT ... FOR UPDATE
SKIP LOCKED`` on PostgreSQL, SQLite's one write transaction — takes over those still queued (they run there, once)
and marks those that were running ``interrupted`` with their last written best kept: a job that started is never
run twice, since a replica starts a job only by moving its row from queued to running while it still holds it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any

from mezan.errors import InvalidParameterError, MezanError, SolverFailedError
from mezan.results import Result
from mezan.service.routes import Work, jsonable
from mezan.store import Store, StoreError, StoreUnavailable

FINAL = ("done", "failed", "cancelled", "interrupted")
PROGRESS_EVERY = 0.5
CANCEL_WAIT = 10.0  # seconds DELETE /jobs/{id} waits for a running solver to hand back its best
WATCH_EVERY = 0.2  # seconds between two rounds of the watchdog
STUCK = "stuck: exceeded time limit + grace; the worker was replaced"
LEASE = 30.0  # seconds a replica holds its jobs without renewing them (mezan serve --job-lease)
FINISH_RETRY = 15.0  # seconds the end of a job is retried while the store is unavailable
INTERRUPTED = "the server stopped before this job finished; its best-so-far is kept"
HOST = socket.gethostname()
log = logging.getLogger(__name__)
_COLUMNS = ("id", "route", "solver", "status", "created", "started", "finished", "best", "elapsed", "curve", "result",
            "error", "owner")


class QueueFull(MezanError):
    """Every worker is busy and the queue is at its limit."""


class QuotaExceeded(MezanError):
    """The owner already holds its quota of solves, or only reserved queue slots are left (``retry_after``:
    seconds until one of its solves should have ended)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SolverStuck(MezanError):
    """The solver did not stop within its time limit + grace; the watchdog gave up on it."""


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


@dataclass(eq=False)
class _Task:
    work: Work
    future: Future
    job_id: str | None
    owner: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    curve: list[list[float]] = field(default_factory=list)
    written: float = 0.0
    started: float | None = None  # time.monotonic() when a worker took it
    thread: threading.Thread | None = None
    settled: bool = False  # its outcome is recorded (by its worker, the watchdog, a cancel or a shutdown)
    stuck: bool = False  # the watchdog gave up on it and replaced its thread
    released: bool = False  # its owner's slot is given back (once: when it settles, or when a stuck one ends)
    lock: threading.Lock = field(default_factory=threading.Lock)
    final: float | None = None  # the result's objective, once it has one
    job_id_lost: bool = False  # its job row was taken over by another replica before it started here
    slot: str | None = None  # its quota slot in the store (counted by every replica)


def replica_alive(replica: str | None, lease_until: float | None, now: float) -> bool:
    """Whether the replica holding a job is alive: its lease runs and, when it is on this machine, its process is
    there (a job of a replica killed here is taken at once, not a lease later).

    Parameters
    ----------
    replica : str or None
        The replica's id (``host:pid:token``), None for a job of a MEZAN before replicas.
    lease_until : float or None
        When its lease on the job ends (seconds since the epoch).
    now : float
        The time now.

    Returns
    -------
    bool
        True while the replica holds the job.
    """
    if replica is None or lease_until is None or lease_until < now:
        return False
    host, _, rest = replica.partition(":")
    pid = rest.partition(":")[0]
    if host == HOST and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process: alive
            return True
    return True


class JobQueue:
    """The solver pool and the jobs of one replica (see the module docstring).

    Parameters
    ----------
    store : mezan.store.Store
        Where jobs are kept (shared by the replicas of one service).
    workers : int, optional
        Solver threads (or solves in flight on ``executor``).
    queue_limit : int, optional
        Solves waiting beyond the workers.
    on_finish : callable, optional
        ``on_finish(solver, status)`` after each solve (the metrics).
    reserved : int, optional
        The last queue slots kept for owners with no solve in progress.
    grace : callable, optional
        Seconds past its time limit before a solve is stuck.
    executor : object, optional
        A :mod:`mezan.dist` executor the solves run on (None: these threads).
    lease : float, optional
        Seconds this replica holds its jobs without renewing them; another replica takes them over after that.
    resume : callable, optional
        ``resume(route, body, owner) -> Work``: a queued job of a dead replica rebuilt to run here (None: such a job
        is marked interrupted instead).
    """

    def __init__(self, store: Store, workers: int = 2, queue_limit: int = 64, on_finish=None, *, reserved: int = 0,
                 grace: Callable[[float], float] = lambda limit: max(5.0, 0.5 * limit), executor: Any = None,
                 lease: float = LEASE, resume: Callable[[str, dict[str, Any], str | None], Work] | None = None) -> None:
        self.store = store
        self.lease, self.resume = float(lease), resume
        self.replica = f"{HOST}:{os.getpid()}:{secrets.token_hex(3)}"
        self.taken_over = 0
        self.executor = executor  # a mezan.dist executor: solves that can run there do (None: on these threads)
        self.queue_limit = queue_limit
        self.reserved = reserved
        self.grace = grace
        self.on_finish = on_finish or (lambda solver, status: None)
        self._waiting: deque[_Task] = deque()
        self._active: set[_Task] = set()  # running now
        self._live: dict[str, _Task] = {}
        self._held: dict[str | None, int] = {}  # owner -> solves queued or running
        self._served: dict[str | None, int] = {}  # owner -> ticket of its latest solve started (round-robin)
        self._ticket = 0
        self._running = 0
        self._cond = threading.Condition()
        self._closed = False
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._abandoned: list[threading.Thread] = []  # threads of stuck solves, left to finish (or not) alone
        self._spawned = 0
        self.replaced_stuck = 0
        self.replaced_lost = 0
        self._last_free = time.monotonic()
        self._watch_stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._leases: threading.Thread | None = None
        self._slots: set[str] = set()  # quota slots this replica holds (renewed with its leases)
        self._unfreed: set[str] = set()  # slots given back here, not yet removed from the store
        self.interrupted = self.reap()  # the jobs of replicas that died (this one's last run among them)
        self.open()

    def open(self) -> None:
        """Start the worker threads and the watchdog (again, after :meth:`close`)."""
        with self._cond:
            self._closed = False
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self._workers:
                self._spawn()
            if self._watchdog is None or not self._watchdog.is_alive():
                self._watch_stop = threading.Event()
                self._watchdog = threading.Thread(target=self._watch, args=(self._watch_stop,),
                                                  name="mezan-watchdog", daemon=True)
                self._watchdog.start()
                self._leases = threading.Thread(target=self._hold, args=(self._watch_stop,), name="mezan-leases",
                                                daemon=True)
                self._leases.start()

    def _spawn(self) -> None:
        t = threading.Thread(target=self._worker, name=f"mezan-solver-{self._spawned}", daemon=True)
        self._spawned += 1
        t.start()
        self._threads.append(t)

    # ---- state ------------------------------------------------------------------------------
    def depth(self) -> int:
        return len(self._waiting)

    def in_flight(self) -> int:
        return self._running

    def workers_alive(self) -> int:
        """Worker threads serving the queue (not counting the abandoned threads of stuck solves)."""
        return sum(t.is_alive() for t in self._threads)

    def workers_stuck(self) -> int:
        """Abandoned threads still inside a stuck solve."""
        with self._cond:
            self._abandoned = [t for t in self._abandoned if t.is_alive()]
            return len(self._abandoned)

    def busy_for(self) -> float:
        """Seconds since a worker was last free (0 while one is)."""
        with self._cond:
            return 0.0 if self._running < self._workers else time.monotonic() - self._last_free

    def held(self, owner: str | None) -> int:
        """Solves of this owner queued or running."""
        with self._cond:
            return self._held.get(owner, 0)

    # ---- submitting -------------------------------------------------------------------------
    def submit(self, work: Work, *, job: bool = False, owner: str | None = None,
               quota: int | None = None, body: dict[str, Any] | None = None) -> tuple[str | None, Future]:
        """Queue a solve; ``job=True`` persists it as a job (returns its id), with its request ``body`` (route and
        checked body) so that another replica can take it over while it waits. ``quota``: the most solves the
        owner may hold (queued + running; None: no quota and no reserve — the local, no-auth use). Raises
        QueueFull or QuotaExceeded."""
        task = _Task(work, Future(), secrets.token_hex(8) if job else None, owner)
        with self._cond:
            if self._closed:
                raise QueueFull("the server is shutting down")
            if len(self._waiting) >= self.queue_limit:
                raise QueueFull(f"{self._running} solves running and {len(self._waiting)} waiting "
                                f"(queue limit {self.queue_limit})")
            held = self._held.get(owner, 0)
            if quota is not None and held >= quota:
                raise QuotaExceeded(f"quota exceeded: this key already has {held} solves queued or running (its "
                                    f"quota is {quota})", self._retry_after_locked(owner))
            free = self.queue_limit - len(self._waiting)
            if quota is not None and held >= 1 and free <= self.reserved:
                raise QuotaExceeded(f"server nearly full: the last {self.reserved} queue slots are kept for keys "
                                    f"with no solve in progress, and this key has {held}",
                                    self._retry_after_locked(owner))
            if quota is not None or task.job_id:
                now = time.time()
                with self.store.transaction() as db:  # its quota slot and its job row: both or neither
                    if quota is not None:
                        self._take_slot(db, task, quota, now)
                    if task.job_id:
                        db.execute("INSERT INTO jobs (id, route, solver, status, created, curve, owner, replica, "
                                   "lease_until, body) VALUES (?, ?, ?, 'queued', ?, '[]', ?, ?, ?, ?)",
                                   (task.job_id, work.route, work.solver, now, owner, self.replica, now + self.lease,
                                    None if body is None else json.dumps(body)))
                if task.slot:
                    self._slots.add(task.slot)
            if task.job_id:
                self._live[task.job_id] = task
            self._held[owner] = held + 1
            self._waiting.append(task)
            self._cond.notify()
        return task.job_id, task.future

    def _take_slot(self, db: Any, task: _Task, quota: int, now: float) -> None:
        """Take one of the owner's ``quota`` slots, counted over every replica on the store (under a lock named
        after the owner, so two replicas cannot both take the last one); QuotaExceeded when none is left."""
        self.store.lock(db, f"quota:{task.owner}")
        held = int(db.execute("SELECT COUNT(*) FROM solve_slots WHERE owner = ? AND lease_until >= ?",
                              (task.owner, now)).fetchone()[0])
        if held >= quota:
            raise QuotaExceeded(f"quota exceeded: this key already has {held} solves queued or running (its quota "
                                f"is {quota})", self._retry_after_locked(task.owner))
        task.slot = secrets.token_hex(8)
        db.execute("INSERT INTO solve_slots (id, owner, replica, lease_until) VALUES (?, ?, ?, ?)",
                   (task.slot, task.owner, self.replica, now + self.lease))

    def _free_slots(self, slots: list[str]) -> None:
        """Give quota slots back (those the store could not take now are retried at the next lease round)."""
        try:
            with self.store.transaction() as db:
                db.executemany("DELETE FROM solve_slots WHERE id = ?", [(slot,) for slot in slots])
        except StoreError as exc:
            log.warning("quota slots not given back yet: %s", exc)
            return
        with self._cond:
            self._slots.difference_update(slots)
            self._unfreed.difference_update(slots)

    def retry_after(self, owner: str | None = None) -> int:
        """Seconds a refused client should wait: for an owner, until the first of its solves should end;
        else the shortest time limit among the waiting solves; + 1."""
        with self._cond:
            return self._retry_after_locked(owner)

    def _retry_after_locked(self, owner: str | None) -> int:
        now = time.monotonic()
        if owner is not None:
            mine = [t for t in (*self._active, *self._waiting) if t.owner == owner]
            limits = [t.work.time_limit - (now - t.started if t.started is not None else 0.0) for t in mine]
        else:
            limits = [t.work.time_limit for t in self._waiting]
        return max(1, int(min(limits or [1.0])) + 1)

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

    def recent(self, limit: int = 20, owner: str | None = None) -> list[Job]:
        """The newest jobs, of one owner (None: of everyone)."""
        if owner is None:
            rows = self.store.query("SELECT id FROM jobs ORDER BY created DESC LIMIT ?", (limit,))
        else:
            rows = self.store.query("SELECT id FROM jobs WHERE owner = ? ORDER BY created DESC LIMIT ?",
                                    (owner, limit))
        return [self.get(r[0]) for r in rows]

    def cancel(self, job_id: str) -> Job:
        """Cancel a job: a queued one never starts; a running one stops and keeps its best-so-far. A job another
        replica holds is flagged for it (it stops the job at its next renewal; this waits for that), and one whose
        replica is dead is cancelled here."""
        job = self.get(job_id)
        if job.status in FINAL:
            return job
        if job_id in self._live:
            self._cancel_here(job_id, wait_for=CANCEL_WAIT)
            return self.get(job_id)
        now = time.time()
        with self.store.transaction() as db:
            db.execute("UPDATE jobs SET cancel = 1 WHERE id = ?", (job_id,))
            db.execute("UPDATE jobs SET status = 'cancelled', finished = ?, error = 'cancelled after its replica "
                       "stopped; its best-so-far is kept' WHERE id = ? AND status IN ('queued', 'running') AND "
                       "(lease_until IS NULL OR lease_until < ?)", (now, job_id, now))
        deadline = time.monotonic() + CANCEL_WAIT + self._poll()
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job.status in FINAL:
                break
            time.sleep(0.05)
        return job

    def _cancel_here(self, job_id: str, wait_for: float) -> None:
        """Cancel a job of this replica's; wait up to ``wait_for`` seconds for a running one to hand back its best."""
        with self._cond:
            task = self._live.get(job_id)
            if task is None:
                return
            queued = task in self._waiting
            if queued:
                self._waiting.remove(task)
        if queued:
            self._settle(task, "cancelled", None, "cancelled before it started")
            return
        task.stop.set()
        if wait_for > 0:
            wait([task.future], timeout=wait_for)  # the solver returns its best (solvers poll stop often)

    def abandon(self, future: Future) -> None:
        """The client of a synchronous solve went away: drop the solve if it is still queued, stop it if it
        runs (its result is then thrown away)."""
        with self._cond:
            task = next((t for t in (*self._waiting, *self._active) if t.future is future), None)
            if task is None:
                return
            task.stop.set()
            queued = task in self._waiting
            if queued:
                self._waiting.remove(task)
        if queued:
            self._settle(task, "cancelled", None, "the client went away before it started")

    # ---- running ----------------------------------------------------------------------------
    def _worker(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._last_free = time.monotonic()
                    self._cond.wait()
                if self._closed and not self._waiting:
                    return
                task = self._next_task()
                dropped = task.stop.is_set()  # its client went away (or it was cancelled) while it waited
                if not dropped:
                    self._running += 1
                    task.thread, task.started = me, time.monotonic()
                    self._active.add(task)
            if dropped:
                self._settle(task, "cancelled", None, "the client went away before it started")
                continue
            try:
                self._run(task)
            except BaseException:  # never let one solve end a worker
                log.exception("worker error on %s", task.work.solver)
                self._settle(task, "failed", None, f"internal error in {task.work.solver}",
                             RuntimeError("internal error"))
            if task.stuck:  # the watchdog gave up on this solve and replaced this thread, which ends now
                self._release(task)  # the slot it kept while it ran on
                return
            with self._cond:
                self._running -= 1
                self._active.discard(task)
                self._last_free = time.monotonic()

    def _next_task(self) -> _Task:
        """Take the next solve (under the lock): round-robin over owners — the oldest waiting solve of the owner
        with the fewest solves running, then the one served longest ago — so one key's backlog never holds
        another key's solve behind all of it."""
        running: dict[str | None, int] = {}
        for t in self._active:
            running[t.owner] = running.get(t.owner, 0) + 1
        first: dict[str | None, int] = {}
        for k, t in enumerate(self._waiting):
            first.setdefault(t.owner, k)
        owner = min(first, key=lambda o: (running.get(o, 0), self._served.get(o, -1), first[o]))
        task = self._waiting[first[owner]]
        del self._waiting[first[owner]]
        self._ticket += 1
        self._served[owner] = self._ticket
        return task

    def _progress(self, task: _Task):
        def progress(best: float, elapsed: float) -> None:
            if task.settled:
                return
            task.curve.append([float(elapsed), float(best)])
            now = time.monotonic()
            if task.job_id and now - task.written >= PROGRESS_EVERY:
                task.written = now
                try:
                    with self.store.transaction() as db:
                        db.execute("UPDATE jobs SET best = ?, elapsed = ?, curve = ? WHERE id = ? AND status = "
                                   "'running' AND replica = ?",
                                   (float(best), float(elapsed), json.dumps(task.curve), task.job_id, self.replica))
                except StoreUnavailable as exc:  # the solve goes on; the next write may reach the store
                    log.warning("progress of job %s not written: %s", task.job_id, exc)
        return progress

    def _run(self, task: _Task) -> None:
        if task.job_id:
            with self.store.transaction() as db:  # started only while this replica holds it: never run twice
                claimed = db.execute("UPDATE jobs SET status = 'running', started = ?, attempts = attempts + 1 WHERE "
                                     "id = ? AND status = 'queued' AND replica = ?",
                                     (time.time(), task.job_id, self.replica)).rowcount
            if not claimed:
                task.job_id_lost = True
                self._settle(task, "cancelled", None, "taken over by another replica or cancelled")
                return
        try:
            if self.executor is not None and task.work.remote is not None:
                record = task.work.remote(self.executor, task.stop, self._progress(task))
            else:
                record = task.work.run(task.stop, self._progress(task))
            task.final = record.objective if isinstance(record, Result) else None
            result = jsonable(task.work.wire(record))
        except SolverFailedError as exc:  # the solver's worker process died: an internal error, logged
            log.error("solver %s: %s", task.work.solver, exc)
            self._settle(task, "failed", None, f"internal error in {task.work.solver}", exc)
            return
        except MezanError as exc:
            self._settle(task, "failed", None, str(exc), exc)
            return
        except Exception as exc:  # a bug: the job fails with a plain message, the server lives on
            log.exception("solver %s failed", task.work.solver)
            self._settle(task, "failed", None, f"internal error in {task.work.solver}: {type(exc).__name__}", exc)
            return
        status = "done" if not task.stop.is_set() else ("interrupted" if self._closed else "cancelled")
        self._settle(task, status, result, None)

    def _settle(self, task: _Task, status: str, result: dict[str, Any] | None, error: str | None,
                exc: BaseException | None = None) -> bool:
        """Record a solve's outcome once (its worker, the watchdog, a cancel and a shutdown may race for it):
        the job row, the metrics, the owner's count and the future. False if it was already settled."""
        with task.lock:
            if task.settled:
                return False
            task.settled = True
        try:
            self._finish(task, status, result, error)
        except Exception:
            log.exception("could not record the end of %s", task.job_id or task.work.solver)
        finally:
            if not task.stuck:  # a stuck solve's thread still runs: its owner keeps the slot until it ends
                self._release(task)
            if task.job_id:
                self._live.pop(task.job_id, None)
            if exc is not None:
                task.future.set_exception(exc)
            elif result is not None:
                task.future.set_result(result)
            else:
                task.future.cancel()
        return True

    def _release(self, task: _Task) -> None:
        """Give the task's owner its slot back, once."""
        with task.lock:
            if task.released:
                return
            task.released = True
        with self._cond:
            left = self._held.get(task.owner, 0) - 1
            if left > 0:
                self._held[task.owner] = left
            else:
                self._held.pop(task.owner, None)
            if task.slot:
                self._unfreed.add(task.slot)
        if task.slot:
            self._free_slots([task.slot])

    def _finish(self, task: _Task, status: str, result: dict[str, Any] | None, error: str | None) -> None:
        self.on_finish(task.work.solver, status if result is None else str(result.get("status", status)))
        if not task.job_id:
            return
        best = elapsed = None
        if task.curve:
            elapsed, best = task.curve[-1]
        if task.final is not None:
            best = task.final
        if task.started is not None:  # a job that ran: its elapsed is its whole run, not its last improvement
            elapsed = time.monotonic() - task.started
        if task.job_id_lost:  # another replica holds this job now: its row is theirs to write
            return
        values = (status, time.time(), best if isinstance(best, (int, float)) else None, elapsed,
                  json.dumps(task.curve), None if result is None else json.dumps(result, default=str), error,
                  task.job_id, self.replica)
        deadline = time.monotonic() + FINISH_RETRY
        while True:
            try:
                with self.store.transaction() as db:
                    db.execute("UPDATE jobs SET status = ?, finished = ?, best = ?, elapsed = ?, curve = ?, "
                               "result = ?, error = ? WHERE id = ? AND replica = ? AND status IN ('queued', "
                               "'running')", values)  # an end another replica already wrote (cancel, take-over) stays
                return
            except StoreUnavailable:  # the end of a job is not dropped for a store restarting: retried a while
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    # ---- leases (replicas) ------------------------------------------------------------------
    def _poll(self) -> float:
        """Seconds between two renewals of this replica's leases (and checks for cancels sent to other replicas)."""
        return min(1.0, self.lease / 3.0)

    def _hold(self, stop: threading.Event) -> None:
        """The lease thread: renew this replica's leases, act on cancels flagged by other replicas, take over the
        jobs of dead replicas; a store that cannot be reached is retried at the next round."""
        while not stop.wait(self._poll()):
            try:
                self.renew()
                self.reap()
            except StoreError as exc:
                log.warning("job leases not renewed: %s", exc)
            except Exception:  # the lease thread must outlive anything it finds
                log.exception("lease thread error")

    def renew(self) -> None:
        """Extend the leases of this replica's queued and running jobs; stop those another replica cancelled."""
        if self._unfreed:
            self._free_slots(list(self._unfreed))
        if not self._live and not self._slots:
            return
        now = time.time()
        with self.store.transaction() as db:
            db.execute("UPDATE solve_slots SET lease_until = ? WHERE replica = ?", (now + self.lease, self.replica))
            lost = []  # live here, but the row is no longer this replica's (taken over or ended while it was cut off)
            for job_id in list(self._live):  # only the jobs this replica runs or queues: a row it failed to end
                renewed = db.execute("UPDATE jobs SET lease_until = ? WHERE id = ? AND replica = ? AND status IN "
                                     "('queued', 'running')", (now + self.lease, job_id, self.replica)).rowcount
                if not renewed:
                    lost.append(job_id)
            flagged = [row[0] for row in db.execute("SELECT id FROM jobs WHERE replica = ? AND cancel = 1 AND status "
                                                    "IN ('queued', 'running')", (self.replica,)).fetchall()]
        for job_id in lost:
            task = self._live.get(job_id)
            if task is not None and task.job_id_lost is False and not task.settled:
                task.job_id_lost = True  # its row says how it ended elsewhere: nothing more is written to it
                log.warning("job %s was taken over or ended by another replica: stopped here", job_id)
                self._cancel_here(job_id, wait_for=0.0)
        for job_id in flagged:
            self._cancel_here(job_id, wait_for=0.0)

    def reap(self) -> int:
        """Claim the jobs of dead replicas (see the module docstring): take over the queued ones (when ``resume`` can
        rebuild them), mark the running ones interrupted with their best kept. Returns how many were interrupted."""
        now = time.time()
        resumed: list[tuple[str, str, dict[str, Any], str | None]] = []
        interrupted = 0
        gone = self._gone_here(now)
        with self.store.transaction() as db:  # only dead replicas' rows are read (and locked): never a live one's
            rows = db.execute("SELECT id, status, route, body, owner FROM jobs WHERE status IN ('queued', 'running') "
                              "AND (replica IS NULL OR replica != ?) AND (replica IS NULL OR lease_until IS NULL OR "
                              "lease_until < ?" + "".join(" OR replica = ?" for _ in gone) + ") ORDER BY created "
                              "LIMIT 64" + self.store.skip_locked, (self.replica, now, *gone)).fetchall()
            for job_id, status, route, body, owner in rows:
                resumable = status == "queued" and body is not None and self.resume is not None
                if resumable and self._closed:  # shutting down: left queued for a replica that runs
                    continue
                if resumable:
                    db.execute("UPDATE jobs SET replica = ?, lease_until = ? WHERE id = ?",
                               (self.replica, now + self.lease, job_id))
                    resumed.append((job_id, route, json.loads(body), owner))
                else:
                    interrupted += db.execute("UPDATE jobs SET status = 'interrupted', finished = ?, error = ? WHERE "
                                              "id = ? AND status IN ('queued', 'running')",
                                              (now, INTERRUPTED, job_id)).rowcount
            db.execute("DELETE FROM solve_slots WHERE lease_until < ?", (now - 60.0,))  # of replicas long gone
        for job_id, route, body, owner in resumed:
            self._adopt(job_id, route, body, owner)
        return interrupted

    def _gone_here(self, now: float) -> list[str]:
        """The replicas on this machine whose leases still run but whose processes are gone (killed): their jobs are
        taken at once rather than a lease later."""
        rows = self.store.query("SELECT DISTINCT replica FROM jobs WHERE status IN ('queued', 'running') AND "
                                "replica >= ? AND replica < ? AND replica != ? AND lease_until >= ?",
                                (f"{HOST}:", f"{HOST};", self.replica, now))
        return [r[0] for r in rows if not replica_alive(r[0], now + 1.0, now)][:32]

    def _hand_back(self, task: _Task) -> bool:
        """Give a job that never started back to the store (queued, no replica: any replica's next reap takes it);
        False if it cannot be taken over (no job, no stored request, no ``resume``, the store unreachable)."""
        if task.job_id is None or self.resume is None:
            return False
        try:
            with self.store.transaction() as db:
                handed = db.execute("UPDATE jobs SET replica = NULL, lease_until = NULL WHERE id = ? AND replica = ? "
                                    "AND status = 'queued' AND body IS NOT NULL",
                                    (task.job_id, self.replica)).rowcount
        except StoreError as exc:
            log.warning("job %s not handed back: %s", task.job_id, exc)
            return False
        if not handed:
            return False
        task.job_id_lost = True  # its row is no longer this replica's to write
        self._settle(task, "queued", None, None)  # frees its slot and ends its future; the row stays queued
        log.info("job %s handed back to the store for another replica", task.job_id)
        return True

    def _adopt(self, job_id: str, route: str, body: dict[str, Any], owner: str | None) -> None:
        """Queue here a job taken over from a dead replica (its row already names this one); one that can no longer
        be rebuilt (its key revoked, a limit lowered) fails with the reason."""
        assert self.resume is not None
        try:
            work = self.resume(route, body, owner)
        except Exception as exc:
            with self.store.transaction() as db:
                db.execute("UPDATE jobs SET status = 'failed', finished = ?, error = ? WHERE id = ? AND replica = ?",
                           (time.time(), f"could not be taken over from a stopped replica: {exc}", job_id,
                            self.replica))
            return
        task = _Task(work, Future(), job_id, owner)
        task.future.add_done_callback(lambda f: f.cancelled() or f.exception())  # nobody waits for it
        with self._cond:
            self._live[job_id] = task
            self._held[owner] = self._held.get(owner, 0) + 1
            self._waiting.append(task)
            self.taken_over += 1
            self._cond.notify()
        log.info("job %s taken over from a stopped replica", job_id)

    # ---- the watchdog -----------------------------------------------------------------------
    def _watch(self, stop: threading.Event) -> None:
        while not stop.wait(WATCH_EVERY):
            try:
                self._check()
            except Exception:  # the watchdog must outlive anything it finds
                log.exception("watchdog error")

    def _check(self) -> None:
        """One round: fail the solves that overran their time limit + grace and replace their threads;
        replace worker threads that died."""
        now = time.monotonic()
        stuck: list[_Task] = []
        lost: list[_Task] = []
        with self._cond:
            if self._closed:
                return
            for task in list(self._active):
                limit = task.work.time_limit
                if not task.settled and now - (task.started or now) > limit + self.grace(limit):
                    task.stuck = True
                    self._active.discard(task)
                    self._running -= 1
                    self._last_free = now
                    if task.thread in self._threads:
                        self._threads.remove(task.thread)
                        self._abandoned.append(task.thread)
                    self.replaced_stuck += 1
                    stuck.append(task)
            for t in [t for t in self._threads if not t.is_alive()]:
                self._threads.remove(t)
                self.replaced_lost += 1
                lost.extend(task for task in self._active if task.thread is t)
            for task in lost:
                self._active.discard(task)
                self._running -= 1
            while len(self._threads) < self._workers:
                self._spawn()
        for task in stuck:
            task.stop.set()
            overrun = now - (task.started or now) - task.work.time_limit
            log.error("solve %s (%s) still running %.1f s past its time limit of %.1f s: failed, worker replaced",
                      task.job_id or "(synchronous)", task.work.solver, overrun, task.work.time_limit)
            self._settle(task, "failed", None, STUCK, SolverStuck(STUCK))
        for task in lost:
            self._settle(task, "failed", None, "the worker running this solve died", RuntimeError("worker died"))

    def close(self, wait: float = 10.0) -> None:
        """Shut down: waiting jobs are handed back to the store, still queued and held by no replica, for another
        replica (or this one, started again) to take over; waiting solves that cannot be (a synchronous call, a job
        without its stored request) end ``interrupted``; running ones are told to stop and their jobs end
        ``interrupted`` with the best-so-far as result. Waits up to ``wait`` seconds for them."""
        with self._cond:
            self._closed = True
            waiting, self._waiting = list(self._waiting), deque()
            self._cond.notify_all()
            self._watch_stop.set()
        for task in waiting:
            if not self._hand_back(task):
                self._settle(task, "interrupted", None, "the server stopped before this job started")
        for task in list(self._live.values()):
            task.stop.set()
        with self._cond:
            running = list(self._active)
        for task in running:
            task.stop.set()
        deadline = time.monotonic() + wait
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
