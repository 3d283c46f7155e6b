"""QAPFlow ``islands``: an island-model solve of one instance on an executor (:mod:`mezan.dist`): local threads, or
the worker threads of a Dask cluster.

Algorithm. k islands (k = the executor's capacity, one per worker thread) each run the search auto mode chooses for
the instance at the round's budget, read without the dense-data rule (``balance`` — breakout local search and the
relaxation — above n = 30, on dense data too: a slice starts from the island's elite, which the memetic search,
starting from a random population, would ignore) in R
synchronous rounds: R = min(6, ⌊time limit / 1 s⌋), at least 1, each an R-th of the time limit (or of ``max_iter``
per island when there is no time limit). A round is one task per island: it starts from the island's elite (its
best permutation so far), runs its slice and returns its new elite. Between rounds the client migrates along a ring:
island i receives island i − 1's elite and adopts it when it is strictly better than its own (replace-if-better ring
migration, Whitley et al. 1999); each island's next round has its own seed, so islands that share an elite diverge.
Cost per round: one table initialisation, O(n^2) per island, plus transport of the wire form (O(n^2) numbers).

Faults: a round task that fails or does not return within its slice plus a grace of one slice leaves its island's
elite as it was (a lost worker costs at most one round of one island); the solve ends by the time limit plus at most
one round. Deterministic for a seed and a number of islands (the executor's thread count) when the rounds are
iteration-capped (``max_iter`` split over the rounds, no time limit): seeds per island and round come from the run's
seed, results are taken in island order, never in completion order.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mezan.dist import DistError, SchedulerLost, Task, executor_from, watch
from mezan.problems import QAPProblem, from_wire, to_wire
from mezan.qap.result import QAPResult
from mezan.qap.solve import BOUND_MAX_N, auto_method, best_lower_bound, objective, solve

logger = logging.getLogger(__name__)

ROUNDS = 6
"""Synchronous rounds of a solve (migration after each but the last)."""

MIN_ROUND_SECONDS = 1.0
"""A round shorter than this spends too much of itself on start-up: fewer rounds are made instead."""


def island_round(wire: dict[str, Any], method: str, initial: Any, seed: int, time_limit: float | None,
                 max_iter: int | None, target: float | None, context: Any = None) -> tuple[np.ndarray, float, int]:
    """One island's round (the task a worker runs): ``method`` from ``initial`` for a slice; returns the island's new
    elite permutation, its objective and the iterations spent."""
    progress = None if context is None else (lambda best, elapsed: context.progress((best, elapsed)))
    result = solve(from_wire(wire), None, method=method, initial=initial, time_limit=time_limit, max_iter=max_iter,
                   seed=seed, target=target, stop=context, progress=progress, lower_bound=False)
    return np.asarray(result.solution, dtype=np.int32), float(result.objective), int(result.iterations)


def plan_rounds(time_limit: float | None, max_iter: int | None) -> tuple[int, float | None, int | None]:
    """(rounds, seconds per round or None, iterations per round or None)."""
    if time_limit is None:
        assert max_iter is not None
        rounds = min(ROUNDS, max_iter)
        return rounds, None, max(1, max_iter // rounds)  # per island and round (the remainder is not run)
    rounds = max(1, min(ROUNDS, int(time_limit // MIN_ROUND_SECONDS)))
    return rounds, time_limit / rounds, None if max_iter is None else max(1, max_iter // rounds)


def solve_islands(problem: QAPProblem, *, executor: Any, time_limit: float | None, max_iter: int | None,
                  seed: int, initial: np.ndarray | None, target: float | None,
                  progress: Callable[[float, float], Any] | None, stop: Any,
                  lower_bound: bool | None = None) -> QAPResult:
    """The islands mode (see the module docstring); called by :func:`mezan.qap.solve` after its checks (a time
    limit or an iteration cap is required). A round in which every island's task raised re-raises the first
    error (a defect, not a lost worker); a lost scheduler raises :class:`mezan.dist.SchedulerLost`."""
    began = time.perf_counter()
    rounds, slice_seconds, slice_iter = plan_rounds(time_limit, max_iter)
    method, _ = auto_method(problem.n, slice_seconds)  # both_dense left False: see the module docstring
    wire = to_wire(problem)
    with executor_from(executor) as ex:
        k = ex.capacity
        where = ex.describe()
        elites: list[tuple[np.ndarray | None, float]] = [(initial, math.inf if initial is None else
                                                           float(objective(problem, None, initial)))
                                                          for _ in range(k)]
        best: tuple[np.ndarray | None, float] = min(elites, key=lambda e: e[1])
        trace: list[tuple[float, float]] = []
        iterations, lost, adopted, wins = 0, 0, 0, [0] * k
        cancelled = reached = False
        deadline = None if time_limit is None else began + time_limit
        done_rounds = 0

        reported = [math.inf]  # the best value progress has seen (from progress or from a round's end)

        def report(value: float) -> bool:
            elapsed = time.perf_counter() - began
            trace.append((elapsed, value))
            if progress is None or value >= reported[0]:
                return False
            reported[0] = value
            return bool(progress(value, elapsed))

        for r in range(rounds):
            remaining = None if deadline is None else deadline - time.perf_counter()
            if r > 0 and remaining is not None and remaining < 0.05:
                break
            # the first round always runs (a budget shorter than the set-up still gets a solution)
            budget = None if slice_seconds is None else max(0.01, min(slice_seconds, remaining))
            tasks: list[Task] = []
            for i in range(k):
                round_seed = int(np.random.SeedSequence([seed, i, r]).generate_state(1, np.uint64)[0] >> np.uint64(1))
                tasks.append(ex.submit(island_round, wire, method, elites[i][0], round_seed, budget, slice_iter,
                                       target, context=True))
            until = None if budget is None else time.monotonic() + 2 * budget + 1.0  # one round of grace
            outcomes, cancelled = _collect(tasks, until, stop, progress, began, reported)
            done_rounds += 1
            failures = [out for out in outcomes if isinstance(out, BaseException)]
            if len(failures) == k:  # every island's task raised: that is a defect, not a lost worker
                raise failures[0]
            for i, out in enumerate(outcomes):
                if out is None or isinstance(out, BaseException):
                    lost += 1
                    continue
                perm, value, its = out
                iterations += its
                if value < elites[i][1]:
                    elites[i] = (perm, value)
                if value < best[1]:
                    best = (perm, value)
                    wins[i] += 1
                    if report(value):
                        cancelled = True
            if target is not None and best[1] <= target:
                reached = True
            if cancelled or reached:
                break
            if r < rounds - 1 and k > 1:  # ring migration, replace if better
                incoming = [elites[(i - 1) % k] for i in range(k)]
                for i in range(k):
                    if incoming[i][1] < elites[i][1]:
                        elites[i] = incoming[i]
                        adopted += 1
    if best[0] is None:
        raise DistError(f"islands: no island returned a solution in {done_rounds} rounds on {where}")
    solution = np.asarray(best[0], dtype=np.int64)
    value = objective(problem, None, solution)  # an int on integer data, as every other mode returns
    want_bound = lower_bound if lower_bound is not None else problem.n <= BOUND_MAX_N
    bound, bound_method = best_lower_bound(problem) if want_bound else (None, None)
    optimal = bound is not None and value <= bound + 1e-9 * max(1.0, abs(bound))
    wall = time.perf_counter() - began
    status = "optimal" if optimal else "cancelled" if cancelled else "timeout" if time_limit is not None and not \
        reached else "feasible"
    reason = ("target objective reached" if reached else "cancelled" if cancelled
              else "iteration cap reached" if slice_iter is not None and time_limit is None else "time limit reached")
    explanation = (f"mode 'islands': {k} islands of {method!r} x {done_rounds} rounds on {where['kind']} "
                   f"({where['workers']} workers, {where['threads']} threads), ring migration replace-if-better "
                   f"({adopted} adoptions); new bests per island {wins}; rounds lost {lost}")
    return QAPResult(
        solution=solution, objective=value, lower_bound=bound, upper_bound=value,
        gap=None if bound is None else (0.0 if value == bound else (value - bound) / max(abs(value), 1e-12)),
        status=status, method=method, mode="islands", bound_method=bound_method, explanation=explanation,
        seed=seed, wall_time=wall, iterations=iterations, trace=trace, reason=reason)


def _outcome(task: Task, timeout: float) -> Any:
    """The task's value; None when it did not finish in time (a lost or overrunning worker); its exception when it
    raised (the island keeps its elite either way). A lost scheduler propagates."""
    try:
        return task.result(timeout=timeout)
    except SchedulerLost:
        raise
    except DistError:
        return None
    except Exception as exc:
        return exc


def _collect(tasks: list[Task], until: float | None, stop: Any, progress: Callable | None, began: float,
             reported: list[float]) -> tuple[list[Any], bool]:
    """(each task's outcome in island order — see :func:`_outcome` — , cancelled):
    relays ``stop`` to the tasks and calls ``progress`` on values better than ``reported[0]`` (updated); a stop or
    ``progress`` returning True cancels the round, whose tasks then return their best."""
    asked = [False]

    def relay(task: Task, value: Any) -> bool:  # noqa: ARG001 - watch's signature
        if value is None or value[0] >= reported[0]:
            return False
        reported[0] = value[0]
        asked[0] = bool(progress(value[0], time.perf_counter() - began)) if progress is not None else False
        return asked[0]

    interrupted = False
    try:
        watch(tasks, stop=stop, progress=relay if progress is not None else None, until=until)
    except KeyboardInterrupt:  # Ctrl-C: the round's tasks hand back their best, and the solve returns it
        interrupted = True
        logger.info("interrupted: cancelling the islands' round and returning the best so far")
        for t in tasks:
            t.cancel()
    cancelled = interrupted or asked[0] or (stop is not None and bool(stop.is_set()))
    deadline = time.monotonic() + 2.0  # one shared wait for the cancelled tasks' answers, not one per task
    return [_outcome(t, max(0.05, deadline - time.monotonic())) for t in tasks], cancelled


__all__ = ["ROUNDS", "island_round", "plan_rounds", "solve_islands"]
