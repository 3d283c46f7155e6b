"""Running a compiled :class:`~mezan.c2sc.plan.Plan`: stages in order, each stage's subproblems
concurrently, references resolved just before a dependent runs."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mezan import registry
from mezan.c2sc.plan import (
    CONTROL_FIELDS,
    Admit,
    Plan,
    PlanError,
    admit_subproblem,
    compile,
    parse_path,
    record_of,
    references,
)
from mezan.dist import DistError, Executor, Task, executor_from, watch
from mezan.errors import MezanError
from mezan.results import Result, Status, compact, to_plain

logger = logging.getLogger(__name__)
FAILED = ("infeasible", "unbounded", "error", "skipped", "cancelled")


@dataclass(frozen=True, repr=False)
class CompositeResult:
    """The outcome of a composite request: a result per subproblem and an aggregate status.

    Parameters
    ----------
    results : dict
        Subproblem id -> its result's wire form (:meth:`mezan.results.Result.to_dict`: the common fields and the
        family's own), or ``{"status": "skipped" or "cancelled", "reason": ...}`` for a subproblem that did not run
        (a parent without a solution; a cancelled request); in the plan's order.
    status : str
        "ok" (every subproblem solved), "partial" or "failed" (none solved).
    wall_time : float
        Seconds in all.
    stages : list of list of str
        The plan's stages (``Plan.stages``).
    """

    results: dict[str, dict[str, Any]]
    status: str
    wall_time: float
    stages: list[list[str]]

    def to_dict(self) -> dict[str, Any]:
        return {"results": self.results, "status": self.status, "wall_time": self.wall_time, "stages": self.stages}

    def __repr__(self) -> str:
        each = ", ".join(f"{name!r}: {sub.get('status')} {compact(sub.get('objective'))}"
                         for name, sub in self.results.items())
        return f"CompositeResult(status={self.status!r}, wall_time={self.wall_time:.3g}, results={{{each}}})"


def solved(result: Result | None) -> bool:
    """Did a subproblem produce a solution its dependents can use?"""
    return result is not None and result.has_solution and result.status not in FAILED


def _lookup(record: Result, path: tuple[str | int, ...], text: str) -> Any:
    """A reference's value: the first part names a field of the parent's record (a common field such as
    ``solution``, or the family's own name for it: ``makespan``, ``start``, ``permutation``), the rest index
    into it."""
    first, rest = path[0], path[1:]
    if not isinstance(first, str) or first.startswith("_") or not hasattr(record, first):
        raise PlanError(f"reference {text}: the parent's result has no field {first!r}")
    value = to_plain(getattr(record, first))
    for part in rest:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            raise PlanError(f"reference {text}: the parent's result has no {part!r} there") from None
    return value


def _resolve(value: Any, lookup: dict[str, Any]) -> Any:
    if isinstance(value, str) and value in lookup:
        return lookup[value]
    if isinstance(value, dict):
        return {k: _resolve(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, lookup) for v in value]
    return value


def _run_stage_on(ex: Executor, plan: Plan, stage: list[str], done: dict[str, Result | dict[str, Any]],
                  time_limit: float, seed: int | None, stop: Any, progress: Callable[[float, float], Any] | None,
                  admit: Admit | None) -> dict[str, Result | dict[str, Any]]:
    """One stage on an executor: each subproblem prepared here (:func:`_run_one` with ``submit``), solved as a task;
    ``stop`` reaches the tasks as a cancel, their progress reaches ``progress``."""
    tasks: dict[str, Task] = {}
    out: dict[str, Result | dict[str, Any]] = {}

    def submit(solver: str, problem: Any, limit: float) -> Task:
        return ex.submit(registry.solve_wire, solver, registry.portable(problem), limit, seed, context=True)

    try:
        for sid in stage:
            outcome = _run_one(plan, sid, done, time_limit, seed, stop, progress, admit, submit=submit)
            if isinstance(outcome, Task):
                tasks[sid] = outcome
            else:
                out[sid] = outcome
        relay = None if progress is None else (lambda task, value: progress(*value))
        watch(list(tasks.values()), stop=stop, progress=relay)
    except BaseException:  # the cluster failed (or Ctrl-C): nothing of this stage keeps running
        for task in tasks.values():
            task.cancel()
        raise
    for sid, task in tasks.items():
        solver = plan.solver_of(sid)
        try:
            out[sid] = task.result(timeout=None if task.done() else 0.1)
        except DistError:
            raise
        except MezanError as exc:
            out[sid] = Result(status=Status.ERROR, reason=f"subproblem {sid!r}: {exc}", solver=solver)
        except Exception as exc:
            logger.exception("subproblem %r: %s failed", sid, solver)
            out[sid] = Result(status=Status.ERROR, solver=solver,
                              reason=f"subproblem {sid!r}: internal error in {solver} ({type(exc).__name__})")
    return out


def _run_one(plan: Plan, sid: str, done: dict[str, Result | dict[str, Any]], time_limit: float, seed: int | None,
             stop: Any, progress: Callable[[float, float], Any] | None,
             admit: Admit | None, submit: Callable[[str, Any, float], Any] | None = None) -> Any:
    """The subproblem's result record, or the reason it did not run; with ``submit``, the task that solves it."""
    spec = plan.subproblems[sid]
    if stop is not None and stop.is_set():
        return {"status": "cancelled", "reason": "not run: the composite request was cancelled"}
    failed_parents = [p for p in plan.depends_on[sid] if not solved(_record(done[p]))]
    if failed_parents:
        p = failed_parents[0]
        return {"status": "skipped", "reason": f"not run: parent {p!r} ended with status {_status(done[p])!r}"}
    solver = plan.solver_of(sid)
    try:
        lookup = {}
        for where, source, path in references({k: v for k, v in spec.items() if k not in CONTROL_FIELDS}):
            text = f"${source}.{path}"
            try:
                lookup[text] = _lookup(done[source], tuple(parse_path(path)), text)  # type: ignore[arg-type]
            except PlanError as exc:
                raise PlanError(f"subproblem {sid!r}, field {where}: {exc}") from None
        resolved = _resolve(copy.deepcopy(spec), lookup)
        problem = record_of(resolved, f"subproblem {sid!r}")
        limit = float(spec.get("time_limit", time_limit))
        if admit is not None:
            limit = admit_subproblem(admit, problem, spec, f"subproblem {sid!r}", time_limit)
        if submit is not None:
            return submit(solver, problem, limit)
        return registry.get(solver).solve(problem, time_limit=limit, seed=seed, stop=stop, progress=progress)
    except DistError:  # the cluster failed: the whole request does, not this subproblem
        raise
    except PlanError as exc:
        return Result(status=Status.ERROR, reason=str(exc), solver=solver)
    except MezanError as exc:  # the solver refused its input: this subproblem fails, the others go on
        return Result(status=Status.ERROR, reason=f"subproblem {sid!r}: {exc}", solver=solver)
    except Exception as exc:  # a defect in a solver: this subproblem fails (logged), the others go on
        logger.exception("subproblem %r: %s failed", sid, solver)
        return Result(status=Status.ERROR, solver=solver,
                      reason=f"subproblem {sid!r}: internal error in {solver} ({type(exc).__name__})")


def _record(outcome: Result | dict[str, Any]) -> Result | None:
    return outcome if isinstance(outcome, Result) else None


def _status(outcome: Result | dict[str, Any]) -> str:
    return outcome.status.value if isinstance(outcome, Result) else outcome["status"]


def run(request_or_plan: dict[str, Any] | Plan, *, time_limit: float = 10.0, seed: int | None = None,
        workers: int = 2, stop: Any = None, progress: Callable[[float, float], Any] | None = None,
        admit: Admit | None = None, executor: Any = None) -> CompositeResult:
    """Compile (when given a request) and run a plan, stage by stage.

    The subproblems of a stage run concurrently, each one's references resolved just before it runs; when a parent
    ends without a usable solution, its dependents are not run (status ``skipped``, naming the parent). A subproblem
    whose solver refuses its input ends with status ``error``; the others go on.

    Parameters
    ----------
    request_or_plan : dict or Plan
        A composite request (compiled with :func:`compile`) or a compiled :class:`Plan`.
    time_limit : float, default 10.0
        Seconds per subproblem, unless a subproblem sets its own ``time_limit``.
    seed : int or None, optional
        The seed given to every subproblem's solver.
    workers : int, default 2
        Subproblems of a stage run at a time on this process's threads (without ``executor``).
    stop : threading.Event, optional
        Passed to every subproblem's solver; once set, no further subproblem starts (those left end
        ``cancelled``).
    progress : callable, optional
        ``progress(best, elapsed)``, passed to every subproblem's solver.
    admit : callable, optional
        The caller's admission hook (:data:`mezan.c2sc.plan.Admit`), applied to each subproblem after its
        references are resolved: a refusal fails that subproblem with status ``error``.
    executor : mezan.dist.Executor, distributed.Client, str or None, optional
        Where to run (:mod:`mezan.dist`: an executor, a Dask client or scheduler address): every subproblem of a
        stage as a task there (references are resolved here; the problem travels as its wire form). None: this
        process's threads.

    Returns
    -------
    CompositeResult
        A result per subproblem id, the aggregate status and the time spent.

    Raises
    ------
    PlanError
        When a request cannot be compiled (see :func:`compile`).
    mezan.dist.DistError
        When the executor cannot do its work (the cluster is unreachable or lost): the whole request fails.
    """
    plan = (request_or_plan if isinstance(request_or_plan, Plan)
            else compile(request_or_plan, admit=admit, default_time_limit=time_limit))
    start = time.perf_counter()
    done: dict[str, Result | dict[str, Any]] = {}
    if executor is not None:
        with executor_from(executor) as ex:
            for stage in plan.stages:
                done.update(_run_stage_on(ex, plan, stage, done, time_limit, seed, stop, progress, admit))
    for stage in plan.stages if executor is None else ():
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(stage)))) as pool:
            futures = {sid: pool.submit(_run_one, plan, sid, done, time_limit, seed, stop, progress, admit)
                       for sid in stage}
            for sid, future in futures.items():
                done[sid] = future.result()
    bad = [sid for sid, r in done.items() if not solved(_record(r))]
    status = "ok" if not bad else ("failed" if len(bad) == len(done) else "partial")
    results = {sid: _wire(done[sid]) for sid in plan.order}
    return CompositeResult(results, status, time.perf_counter() - start, plan.stages)


def _wire(outcome: Result | dict[str, Any]) -> dict[str, Any]:
    return outcome.to_dict() if isinstance(outcome, Result) else outcome
