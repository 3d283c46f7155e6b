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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mezan import registry
from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.running import resolve_seed, time_limit_seconds

ROUTE_TYPES: dict[str, tuple[str, ...]] = {
    "qapflow": ("qap",),
    "workflow": ("workflow",),
    "allocflow": ("allocation",),
    "graphflow": ("network_design",),
    "dualflow": ("robust_assignment", "robust_qap", "robust_allocation", "matrix_game"),
    "evoflow": ("qap", "tsp", "linear_ordering"),
    "mezan": ("qap", "workflow", "allocation", "network_design", "robust_assignment", "robust_qap",
              "robust_allocation", "matrix_game", "composite"),
}
ROUTES = tuple(ROUTE_TYPES)
EVO_MATRICES = {"qap": ("A", "B"), "tsp": ("D",), "linear_ordering": ("W",)}


@dataclass
class Work:
    """One solve to run: ``run(stop, progress) -> response dict``; ``size`` = (what, how many)."""

    route: str
    kind: str
    solver: str
    time_limit: float
    seed: int | None
    size: tuple[str, int]
    run: Callable[[Any, Callable[[float, float], Any] | None], dict[str, Any]]


def _time_limit(body: dict[str, Any], default: float, cap: float) -> float:
    """The request's time limit (the solvers' own check and message), capped by the server's."""
    return min(time_limit_seconds(body.get("time_limit", default)), cap)


def _seed(body: dict[str, Any]) -> int | None:
    seed = body.get("seed")
    return None if seed is None else resolve_seed(seed)


def _number(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def problem_size(problem: Any) -> tuple[str, int]:
    """What the per-scope size limit counts for a problem."""
    kind = getattr(problem, "problem_type", "qap")
    if kind == "workflow":
        return "tasks", len(problem.tasks)
    if kind == "allocation":
        return "items", len(problem.items)
    if kind == "robust_allocation":
        return "items", len(problem.base.items)
    if kind == "network_design":
        return "nodes", len(problem.nodes)
    if kind == "robust_assignment":
        return "n", int(problem.costs.shape[-1])
    if kind == "robust_qap":
        return "n", int(problem.flows.shape[-1])
    if kind == "matrix_game":
        return "strategies", int(max(problem.payoff.shape))
    return "n", int(problem.n)


def _qapflow(body: dict[str, Any], time_limit: float, seed: int | None) -> Work:
    from mezan.problems import QAPProblem
    from mezan.qap import solve
    from mezan.qap.solve import MODES

    mode = body.get("mode", "auto")
    if mode not in MODES:
        raise InvalidParameterError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    problem = QAPProblem.from_dict({"A": body.get("A"), "B": body.get("B")} if "A" in body and "B" in body else body)

    def run(stop, progress):
        r = solve(problem, None, mode=mode, time_limit=time_limit, seed=seed, stop=stop, callback=progress)
        return {"solution": [int(i) for i in r.permutation], "objective_value": float(r.objective),
                "backend": "mezan-core", "mode": r.method, "computation_time": r.wall_time,
                "bounds": {"lower": _number(r.lower_bound), "upper": float(r.objective)}, "status": r.status,
                "explanation": r.explanation, "seed": r.seed}

    return Work("qapflow", "qap", f"qapflow.{mode}", time_limit, seed, problem_size(problem), run)


def _evoflow(body: dict[str, Any], time_limit: float, seed: int | None) -> Work:
    from mezan.evo import QAP, TSP, LinearOrdering, evolve

    kind = body.get("type", "qap")
    if kind not in EVO_MATRICES:
        raise InvalidProblemError(f"type must be one of {', '.join(EVO_MATRICES)}; got {kind!r}")
    variant = body.get("variant", "memetic")
    if variant not in ("ga", "memetic"):
        raise InvalidParameterError(f"variant must be 'ga' or 'memetic'; got {variant!r}")
    matrices = [_matrix(body, key, kind) for key in EVO_MATRICES[kind]]
    problem = {"qap": QAP, "tsp": TSP, "linear_ordering": LinearOrdering}[kind](*matrices)

    def run(stop, progress):
        r = evolve(problem, time_limit=time_limit, seed=seed, local_search=(variant == "memetic") or None, stop=stop,
                   callback=progress)
        out = r.to_dict()
        out["objective"] = out["fitness"]
        return out

    return Work("evoflow", kind, f"evo.{variant}@{kind}", time_limit, seed, ("n", problem.n), run)


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


def _typed(route: str, body: dict[str, Any], time_limit: float, seed: int | None, metaflow: Any) -> Work:
    from mezan import c2sc
    from mezan.c2sc.plan import TYPES
    from mezan.c2sc.run import outputs

    kind = body.get("type", ROUTE_TYPES[route][0])
    if kind not in ROUTE_TYPES[route]:
        raise InvalidProblemError(f"type must be one of {', '.join(ROUTE_TYPES[route])} on this route; got {kind!r}")
    if kind == "composite":
        plan = c2sc.compile(body)
        return Work(route, kind, "c2sc", time_limit, seed, ("subproblems", len(plan.order)),
                    lambda stop, progress: c2sc.run(plan, time_limit=time_limit, seed=seed).to_dict())
    problem = c2sc.from_wire({**body, "type": kind})
    solver = body.get("solver", "auto" if route == "mezan" else TYPES[kind][1])
    if solver != "auto":
        if not isinstance(solver, str) or solver not in {s.name for s in registry.solvers(kind)}:
            names = ", ".join(s.name for s in registry.solvers(kind))
            raise InvalidParameterError(f"solver must name a registered {kind} solver ({names}); got {solver!r}")

    def run(stop, progress):
        if route == "mezan":
            from mezan.meta.solve import solve as meta_solve

            result = meta_solve(problem, time_limit=time_limit, solver=solver, seed=seed, metaflow=metaflow,
                                stop=stop, callback=progress)
        else:
            result = registry.get(solver).solve(problem, time_limit=time_limit, seed=seed, stop=stop, progress=progress)
        out = outputs(kind, result)
        out.setdefault("status", getattr(result, "status", "feasible"))
        out["solver"] = getattr(result, "solver", None) or solver
        return out

    return Work(route, kind, solver, time_limit, seed, problem_size(problem), run)


def jsonable(value: Any) -> Any:
    """A result as plain JSON: numpy scalars and arrays to Python, non-finite floats to null."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def parse(route: str, body: Any, *, max_time_limit: float, default_time_limit: float = 10.0,
          metaflow: Any = None) -> Work:
    """Validate a request body for a route; every error names the field (InvalidProblemError or
    InvalidParameterError); anything else the problem records raise on garbage is reported the same way."""
    if route not in ROUTE_TYPES:
        raise InvalidParameterError(f"route must be one of {', '.join(ROUTES)}; got {route!r}")
    if not isinstance(body, dict):
        raise InvalidProblemError(f"the request body must be a JSON object, got {type(body).__name__}")
    time_limit = _time_limit(body, default_time_limit, max_time_limit)
    seed = _seed(body)
    try:
        if route == "qapflow":
            return _qapflow(body, time_limit, seed)
        if route == "evoflow":
            return _evoflow(body, time_limit, seed)
        return _typed(route, body, time_limit, seed, metaflow)
    except (InvalidProblemError, InvalidParameterError):
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise InvalidProblemError(f"malformed {route} problem: {exc}") from None
