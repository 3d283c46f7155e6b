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
from mezan.errors import MezanError

logger = logging.getLogger(__name__)
FAILED = ("infeasible", "unbounded", "error", "skipped", "cancelled")


@dataclass
class CompositeResult:
    """results: subproblem id -> its result (the solver's wire-form dict, plus "status");
    status: "ok" (every subproblem solved), "partial" or "failed"; wall_time: seconds in all."""

    results: dict[str, dict[str, Any]]
    status: str
    wall_time: float
    stages: list[list[str]]

    def to_dict(self) -> dict[str, Any]:
        return {"results": self.results, "status": self.status, "wall_time": self.wall_time, "stages": self.stages}


def outputs(kind: str, result: Any) -> dict[str, Any]:
    """A solver result as the fields references can name (``solution`` for a QAP is its permutation; for an
    EvoFlow result, ``solution`` and ``objective`` are its best permutation and fitness)."""
    out = result.to_dict()
    if kind == "qap" and "permutation" in out:
        out["solution"] = list(out["permutation"])
    if "best" in out and "fitness" in out:  # EvoFlow (TSP, linear ordering, or a QAP given to an evo solver)
        out.setdefault("solution", list(out["best"]))
        out.setdefault("objective", out["fitness"])
    return out


def solved(out: dict[str, Any]) -> bool:
    """Did a subproblem produce a solution its dependents can use?"""
    return out["status"] not in FAILED and any(out.get(k) is not None for k in ("objective", "makespan", "value"))


def _lookup(value: Any, path: tuple[str | int, ...], text: str) -> Any:
    for part in path:
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


def _run_one(plan: Plan, sid: str, done: dict[str, dict[str, Any]], time_limit: float, seed: int | None,
             stop: Any, progress: Callable[[float, float], Any] | None, admit: Admit | None):
    spec = plan.subproblems[sid]
    if stop is not None and stop.is_set():
        return {"status": "cancelled", "reason": "not run: the composite request was cancelled"}
    failed_parents = [p for p in plan.depends_on[sid] if not solved(done[p])]
    if failed_parents:
        p = failed_parents[0]
        return {"status": "skipped", "reason": f"not run: parent {p!r} ended with status {done[p]['status']!r}"}
    try:
        lookup = {}
        for where, source, path in references({k: v for k, v in spec.items() if k not in CONTROL_FIELDS}):
            text = f"${source}.{path}"
            try:
                lookup[text] = _lookup(done[source], tuple(parse_path(path)), text)
            except PlanError as exc:
                raise PlanError(f"subproblem {sid!r}, field {where}: {exc}") from None
        resolved = _resolve(copy.deepcopy(spec), lookup)
        problem = record_of(resolved, f"subproblem {sid!r}")
        limit = float(spec.get("time_limit", time_limit))
        if admit is not None:
            limit = admit_subproblem(admit, problem, spec, f"subproblem {sid!r}", time_limit)
        result = registry.get(plan.solver_of(sid)).solve(problem, time_limit=limit, seed=seed, stop=stop,
                                                         progress=progress)
        out = outputs(spec["type"], result)
        out.setdefault("status", getattr(result, "status", "feasible"))
        out["solver"] = plan.solver_of(sid)
        return out
    except PlanError as exc:
        return {"status": "error", "reason": str(exc)}
    except MezanError as exc:  # the solver refused its input: this subproblem fails, the others go on
        return {"status": "error", "reason": f"subproblem {sid!r}: {exc}"}
    except Exception as exc:  # a defect in a solver: this subproblem fails (logged), the others go on
        logger.exception("subproblem %r: %s failed", sid, plan.solver_of(sid))
        return {"status": "error", "reason": f"subproblem {sid!r}: internal error in {plan.solver_of(sid)} "
                                             f"({type(exc).__name__})"}


def run(request_or_plan: dict[str, Any] | Plan, *, time_limit: float = 10.0, seed: int | None = None,
        workers: int = 2, stop: Any = None, progress: Callable[[float, float], Any] | None = None,
        admit: Admit | None = None) -> CompositeResult:
    """Compile (when given a request) and run a plan; ``time_limit`` per subproblem unless a
    subproblem sets its own; ``workers`` subproblems of a stage at a time.

    ``stop`` (e.g. a ``threading.Event``) is passed to every subproblem's solver, and once set no further
    subproblem starts (those left end ``cancelled``); ``progress(best, elapsed)`` is passed to every
    subproblem's solver; ``admit`` is the caller's admission hook (:data:`mezan.c2sc.plan.Admit`), applied to
    each subproblem after its references are resolved: a refusal fails that subproblem with status ``error``.
    """
    plan = (request_or_plan if isinstance(request_or_plan, Plan)
            else compile(request_or_plan, admit=admit, default_time_limit=time_limit))
    start = time.perf_counter()
    done: dict[str, dict[str, Any]] = {}
    for stage in plan.stages:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(stage)))) as pool:
            futures = {sid: pool.submit(_run_one, plan, sid, done, time_limit, seed, stop, progress, admit)
                       for sid in stage}
            for sid, future in futures.items():
                done[sid] = future.result()
    bad = [sid for sid, r in done.items() if not solved(r)]
    status = "ok" if not bad else ("failed" if len(bad) == len(done) else "partial")
    return CompositeResult({sid: done[sid] for sid in plan.order}, status, time.perf_counter() - start, plan.stages)
