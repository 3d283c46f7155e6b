"""What each solve route accepts and runs: a request body -> a :class:`Work` (problem, solver, limits)
-> the response record. The HTTP layer (:mod:`mezan.service.app`) and the job queue share these, so a
job runs exactly what the synchronous route would.

Routes and their bodies (the wire forms of the suite; ``time_limit`` and ``seed`` optional in each):

- ``qapflow``: ``{"A": [[...]], "B": [[...]], "mode": "auto", "time_limit": 60, "seed": 1}``
- ``workflow``, ``allocflow``, ``graphflow``, ``dualflow``: the problem's wire form (``"type"`` one of
  the route's types, see :data:`ROUTE_TYPES`), optionally ``"solver"``: a registered solver of that type.
- ``evoflow``: ``{"type": "qap"|"tsp"|"linear_ordering", "A", "B" | "D" | "W", "variant": "ga"|"memetic"}``
- ``mezan``: any single wire-form problem (MetaFlow picks the solver and records the solve) or a
  composite request (``"type": "composite"``, run by C2SC).

Every problem passes one admission check before it is solved (:class:`Admission`: its size within the
caller's limit, its time limit capped by the server's) — a direct request's problem and each subproblem of
a composite request alike (C2SC calls the same check through its ``admit`` hook).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mezan import c2sc, registry
from mezan.c2sc.run import CompositeResult
from mezan.dist import CANCEL_GRACE, DistError, watch
from mezan.errors import InstanceTooLargeError, InvalidParameterError, InvalidProblemError, MezanError
from mezan.evo import QAP, TSP, LinearOrdering, evolve
from mezan.meta.metasolve import solve as meta_solve
from mezan.problems import ROUTES as PROBLEM_ROUTES
from mezan.problems import TYPES, QAPProblem, problem_size, types_on_route
from mezan.qap import solve
from mezan.qap.solve import MODES
from mezan.results import Result, to_plain
from mezan.running import budget_seconds, check_seed

ROUTE_TYPES: dict[str, tuple[str, ...]] = {
    route: types_on_route(route) + (("composite",) if route == "mezan" else ()) for route in PROBLEM_ROUTES}
"""The problem types each route accepts (read from :data:`mezan.problems.TYPES`; ``/mezan/solve`` also takes a
composite request)."""
ROUTES = tuple(ROUTE_TYPES)
EVO_MATRICES = {kind: TYPES[kind].required for kind in ROUTE_TYPES["evoflow"]}
MAX_SEED = 2**63 - 1
COMPOSITE_WORKERS = 2  # subproblems of one stage a composite request runs at once


def common_form(record: Result | CompositeResult) -> dict[str, Any]:
    """The wire form of every route but ``/qapflow/solve``: the record's own ``to_dict`` (the common fields)."""
    return record.to_dict()


@dataclass
class Work:
    """One solve to run: ``run(stop, progress) -> result record`` (a :class:`mezan.results.Result`, or a
    :class:`~mezan.c2sc.run.CompositeResult`); ``wire(record)`` -> the route's response; ``size`` = (what, how
    many); ``remote(executor, stop, progress)``: the same solve on an executor (:mod:`mezan.dist`), when it can
    run there (None: it runs here, e.g. ``/mezan/solve``'s selection, which reads this server's store)."""

    route: str
    kind: str
    solver: str
    time_limit: float
    seed: int | None
    size: tuple[str, int]
    run: Callable[[Any, Callable[[float, float], Any] | None], Result | CompositeResult]
    wire: Callable[[Any], dict[str, Any]] = common_form
    remote: Callable[[Any, Any, Callable[[float, float], Any] | None], Result | CompositeResult] | None = None

    def respond(self, stop: Any, progress: Callable[[float, float], Any] | None) -> dict[str, Any]:
        """Run and answer in the route's wire form (JSON-ready)."""
        return jsonable(self.wire(self.run(stop, progress)))


def on_executor(solver: str, problem: Any, time_limit: float, seed: int | None) -> Callable[..., Result]:
    """``remote`` for a registered solver on a problem with a wire form: one task (:func:`mezan.registry.solve_wire`)
    whose cancel is the caller's ``stop`` and whose progress reaches ``progress``; a cancelled task returns its best."""
    wire = registry.portable(problem)

    def remote(executor: Any, stop: Any, progress: Callable[[float, float], Any] | None) -> Result:
        task = executor.submit(registry.solve_wire, solver, wire, time_limit, seed, context=True)
        watch([task], stop=stop, progress=None if progress is None else (lambda _, value: progress(*value)))
        if not task.done():  # cancelled, and no worker handed it back (e.g. none is connected)
            raise DistError(f"the cluster did not run {solver}: no worker returned it within {CANCEL_GRACE:g} s "
                            f"of its cancel")
        return task.result()

    return remote


def checked_time_limit(value: Any, name: str = "time_limit") -> float:
    """A time limit as sent: a finite number of seconds > 0 (:func:`mezan.running.budget_seconds`, the parser of
    every boundary)."""
    return budget_seconds(value, name, allow_infinite=False)


def checked_seed(value: Any, name: str = "seed") -> int | None:
    """A seed as sent: None or an integer from 0 to 2**63 - 1 (:func:`mezan.running.check_seed`)."""
    seed: int | None = check_seed(value, name)
    return seed


@dataclass(frozen=True)
class Admission:
    """The one check every problem passes before it is solved: a direct request's problem and each subproblem
    of a composite request (passed to C2SC as its ``admit`` hook) alike.

    ``admission(problem, time_limit)`` raises :class:`~mezan.errors.InstanceTooLargeError` when the problem's size (see
    :func:`problem_size`) exceeds ``max_size`` — the limit of the caller's ``scope`` — and returns the time
    limit to use: the one asked for, checked, capped to ``max_time_limit``."""

    max_size: int
    scope: str
    max_time_limit: float

    def __call__(self, problem: Any, time_limit: Any) -> float:
        self.check_size(*problem_size(problem))
        return self.cap(time_limit)

    def check_size(self, what: str, size: int) -> None:
        if size > self.max_size:
            raise InstanceTooLargeError(f"problem too large: {what} = {size} exceeds the limit of {self.max_size} for "
                                  f"scope {self.scope!r}")

    def cap(self, time_limit: Any) -> float:
        return min(checked_time_limit(time_limit), self.max_time_limit)


UNLIMITED = Admission(2**62, "admin", math.inf)


def _number(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _qapflow(body: dict[str, Any], admit: Admission, time_limit: float, seed: int | None) -> Work:

    mode = body.get("mode", "auto")
    if mode not in MODES:
        raise InvalidParameterError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    problem = QAPProblem.from_dict({"A": body.get("A"), "B": body.get("B")} if "A" in body and "B" in body else body)
    time_limit = admit(problem, time_limit)

    def run(stop, progress):
        return solve(problem, None, mode=mode, time_limit=time_limit, seed=seed, stop=stop, progress=progress)

    def islands(executor, stop, progress):  # the islands are tasks themselves; this thread migrates between rounds
        return solve(problem, None, mode=mode, time_limit=time_limit, seed=seed, stop=stop, progress=progress,
                     executor=executor)

    remote = islands if mode == "islands" else on_executor(f"qapflow.{mode}", problem, time_limit, seed)
    return Work("qapflow", "qap", f"qapflow.{mode}", time_limit, seed, problem_size(problem), run, qapflow_form,
                remote)


def qapflow_form(r: Result) -> dict[str, Any]:
    """The ``/qapflow/solve`` response: the common fields (``objective``, ``wall_time``) plus ``backend``, ``mode``
    (the algorithm that ran) and ``bounds``. ``objective_value`` and ``computation_time`` repeat ``objective`` and
    ``wall_time`` under the original design's names for one release (deprecated: see the changelog)."""
    objective = float(r.objective)  # type: ignore[arg-type]
    return {"solution": [int(i) for i in r.solution], "objective": objective, "wall_time": r.wall_time,
            "objective_value": objective, "computation_time": r.wall_time,
            "backend": "mezan-core", "mode": getattr(r, "method", ""),
            "bounds": {"lower": _number(r.lower_bound), "upper": _number(r.upper_bound)}, "status": r.status.value,
            "explanation": r.explanation, "seed": r.seed}


def _evoflow(body: dict[str, Any], admit: Admission, time_limit: float, seed: int | None) -> Work:

    kind = body.get("type", "qap")
    if kind not in EVO_MATRICES:
        raise InvalidProblemError(f"type must be one of {', '.join(EVO_MATRICES)}; got {kind!r}")
    variant = body.get("variant", "memetic")
    if variant not in ("ga", "memetic"):
        raise InvalidParameterError(f"variant must be 'ga' or 'memetic'; got {variant!r}")
    matrices = [_matrix(body, key, kind) for key in EVO_MATRICES[kind]]
    problem = {"qap": QAP, "tsp": TSP, "linear_ordering": LinearOrdering}[kind](*matrices)
    time_limit = admit(problem, time_limit)

    def run(stop, progress):
        return evolve(problem, time_limit=time_limit, seed=seed, local_search=(variant == "memetic") or None,
                      stop=stop, progress=progress)

    return Work("evoflow", kind, f"evo.{variant}@{kind}", time_limit, seed, problem_size(problem), run)


def _matrix(body: dict[str, Any], name: str, kind: str) -> np.ndarray:
    """A square matrix field of an EvoFlow body (EvoFlow's problems check values and sizes further)."""
    if name not in body:
        raise InvalidProblemError(f"missing field {name!r} (a {kind} problem needs {', '.join(EVO_MATRICES[kind])})")
    value = body[name]
    if not isinstance(value, list) or not value or not all(isinstance(r, list) and len(r) == len(value) for r in value):
        raise InvalidProblemError(f"{name} must be a non-empty square matrix (a list of equal-length rows)")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for r in value for x in r):
        raise InvalidProblemError(f"{name} must hold numbers only")
    return np.asarray(value, dtype=np.float64)


def _typed(route: str, body: dict[str, Any], admit: Admission, time_limit: float, seed: int | None,
           metaflow: Any) -> Work:

    kind = body.get("type", ROUTE_TYPES[route][0])
    if kind not in ROUTE_TYPES[route]:
        raise InvalidProblemError(f"type must be one of {', '.join(ROUTE_TYPES[route])} on this route; got {kind!r}")
    if kind == "composite":
        return _composite(route, body, admit, time_limit, seed)
    problem = c2sc.from_wire({**body, "type": kind})
    time_limit = admit(problem, time_limit)
    solver = body.get("solver", "auto" if route == "mezan" else TYPES[kind].solver)
    if solver != "auto":
        if not isinstance(solver, str) or solver not in {s.name for s in registry.solvers(kind)}:
            names = ", ".join(s.name for s in registry.solvers(kind))
            raise InvalidParameterError(f"solver must name a registered {kind} solver ({names}); got {solver!r}")

    def run(stop, progress):
        if route == "mezan":
            return meta_solve(problem, time_limit=time_limit, solver=solver, seed=seed, metaflow=metaflow,
                              stop=stop, progress=progress)
        return registry.get(solver).solve(problem, time_limit=time_limit, seed=seed, stop=stop, progress=progress)

    remote = None if route == "mezan" else on_executor(solver, problem, time_limit, seed)
    return Work(route, kind, solver, time_limit, seed, problem_size(problem), run, remote=remote)


def _composite(route: str, body: dict[str, Any], admit: Admission, time_limit: float, seed: int | None) -> Work:
    """A composite request: every subproblem admitted like a direct request (at compile time when it has no
    references, once resolved otherwise). The Work's time limit — what the watchdog and Retry-After count on —
    is the sum over the stages of each stage's longest admitted subproblem time limit (a stage with more
    subproblems than C2SC runs at once: Graham's bound for its list schedule, sum / w + (1 - 1 / w) max)."""

    default = admit.cap(time_limit)
    subproblems = body.get("subproblems")
    if isinstance(subproblems, list):  # before compiling: compiling costs time in the request's size
        admit.check_size("subproblems", len(subproblems))
    plan = c2sc.compile(body, admit=admit, default_time_limit=default)
    total = 0.0
    for stage in plan.stages:
        limits = []
        for sid in stage:
            spec = plan.subproblems[sid]
            if "time_limit" in spec:
                checked_time_limit(spec["time_limit"], f"subproblem {sid!r}, field time_limit")
            limits.append(admit.cap(spec["time_limit"]) if "time_limit" in spec else default)
        w = COMPOSITE_WORKERS
        total += max(limits) if len(limits) <= w else sum(limits) / w + (1 - 1 / w) * max(limits)

    def run(stop, progress, executor=None):
        return c2sc.run(plan, time_limit=default, seed=seed, workers=COMPOSITE_WORKERS, stop=stop, progress=progress,
                        admit=admit, executor=executor)

    return Work(route, "composite", "c2sc", total, seed, ("subproblems", len(plan.order)), run,
                remote=lambda executor, stop, progress: run(stop, progress, executor))


def jsonable(value: Any) -> Any:
    """A result as plain JSON (:func:`mezan.results.to_plain`): numpy to Python, non-finite floats to null."""
    return to_plain(value, nonfinite="null")


def parse(route: str, body: Any, *, admit: Admission = UNLIMITED, default_time_limit: float = 10.0,
          metaflow: Any = None) -> Work:
    """Validate a request body for a route and admit its problem (``admit``: the caller's :class:`Admission`);
    every error names the field (InvalidProblemError or InvalidParameterError); anything else the problem
    records raise on garbage is reported the same way."""
    if not isinstance(route, str) or route not in ROUTE_TYPES:
        raise InvalidParameterError(f"route must be one of {', '.join(ROUTES)}; got {route!r}")
    if not isinstance(body, dict):
        raise InvalidProblemError(f"the request body must be a JSON object, got {type(body).__name__}")
    time_limit = checked_time_limit(body.get("time_limit", default_time_limit))
    seed = checked_seed(body.get("seed"))
    try:
        if route == "qapflow":
            return _qapflow(body, admit, time_limit, seed)
        if route == "evoflow":
            return _evoflow(body, admit, time_limit, seed)
        return _typed(route, body, admit, time_limit, seed, metaflow)
    except MezanError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise InvalidProblemError(f"malformed {route} problem: {exc}") from None
