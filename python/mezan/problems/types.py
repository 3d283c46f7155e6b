"""The one table of problem types: what C2SC, the service and ``mezan.solve`` know about each type.

Adding a problem type is one entry in :data:`TYPES` (and its record): C2SC's subproblem types, default solvers
and reference fields (:mod:`mezan.c2sc.plan`), the wire forms accepted by :func:`from_wire` (``mezan.solve``,
``/mezan/solve``), the service's routes and size limits (:mod:`mezan.service.routes`) all read it. Solvers
register themselves for a type by its name (:mod:`mezan.registry`).

Not in the table: ``"permutation"`` — EvoFlow's callable objective (:class:`mezan.evo.PermutationProblem`): its
data is a Python function, which has no wire form, no fingerprint and no size a service could admit; it is reached
only through :func:`mezan.evo.evolve` or ``registry.get("evo.ga@permutation")`` (see :data:`LIBRARY_ONLY_TYPES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.problems.allocation import AllocationProblem
from mezan.problems.network import NetworkDesignProblem
from mezan.problems.permutation import LinearOrderingProblem, TSPProblem
from mezan.problems.qap import QAPProblem
from mezan.problems.robust import (
    MatrixGameProblem,
    RobustAllocationProblem,
    RobustAssignmentProblem,
    RobustQAPProblem,
)
from mezan.problems.workflow import WorkflowProblem

ROUTES = ("qapflow", "workflow", "allocflow", "graphflow", "dualflow", "evoflow", "mezan")
"""The service's solve routes (``/<route>/solve``), in the order it lists them; ``mezan`` takes every type."""


@dataclass(frozen=True)
class ProblemType:
    """One problem type: an entry of the table :data:`TYPES`.

    Parameters
    ----------
    name : str
        The type's wire name (``"qap"``, ``"workflow"``, ...), the ``type`` field of its wire form.
    record : type
        Its problem record class (``from_dict``, ``to_dict``, ``fingerprint``).
    solver : str
        The registered solver that C2SC and the family routes use by default.
    outputs : tuple of str
        The family's own result fields a C2SC reference may name (``$id.field``) besides
        :data:`COMMON_OUTPUTS`: its extra fields and its names for the solution and the objective.
    required : tuple of str
        The wire fields a subproblem must carry even when its other fields are references.
    routes : tuple of str
        The service routes that accept the type (see :data:`ROUTES`).
    size : str
        What the record's ``n`` counts, the quantity a caller's size limit applies to (``"n"``, ``"tasks"``,
        ``"items"``, ...).
    sense : str
        "min" or "max": whether the type's objective is minimised or maximised (MetaFlow's rewards, Elo games and
        OptiBench's gaps read it). A type without one is refused.
    solution_shape : str, default "list"
        What the type's ``solution`` holds: ``"list"`` or ``"dict"``.
    """

    name: str
    record: Any  # the record class (a dataclass with from_dict/to_dict/fingerprint)
    solver: str
    outputs: tuple[str, ...]
    required: tuple[str, ...]
    routes: tuple[str, ...]
    size: str
    sense: str
    solution_shape: str = "list"

    def __post_init__(self) -> None:
        if self.sense not in ("min", "max"):
            raise InvalidParameterError(f"problem type {self.name!r}: sense must be 'min' or 'max', got {self.sense!r}")


COMMON_OUTPUTS = ("solution", "objective", "status", "lower_bound", "upper_bound", "gap")
"""The fields of :class:`mezan.results.Result` every subproblem's result offers to a C2SC reference."""


_ROBUST_OUTPUTS = ("worst_scenario", "scenario_values", "nominal_optimum", "price_of_robustness")
_PERMUTATION_OUTPUTS = ("best", "fitness")

TYPES: dict[str, ProblemType] = {t.name: t for t in (
    ProblemType("qap", QAPProblem, "qapflow.auto",
                ("permutation",), ("A", "B"),
                ("qapflow", "evoflow", "mezan"), "n", "min"),
    ProblemType("workflow", WorkflowProblem, "workflow.schedule",
                ("start", "makespan", "critical_path"), ("tasks",), ("workflow", "mezan"), "tasks", "min", "dict"),
    ProblemType("allocation", AllocationProblem, "allocflow.highs",
                ("allocation", "duals"), ("items",), ("allocflow", "mezan"), "items", "max", "dict"),
    ProblemType("network_design", NetworkDesignProblem, "graphflow.network",
                ("edges", "flows"), ("task", "nodes", "edges"),
                ("graphflow", "mezan"), "nodes", "min"),
    ProblemType("robust_assignment", RobustAssignmentProblem, "dualflow.robust_assignment", _ROBUST_OUTPUTS,
                ("costs",), ("dualflow", "mezan"), "n", "min"),
    ProblemType("robust_qap", RobustQAPProblem, "dualflow.robust_qap", _ROBUST_OUTPUTS, ("flows", "distances"),
                ("dualflow", "mezan"), "n", "min"),
    ProblemType("robust_allocation", RobustAllocationProblem, "dualflow.robust_allocation", _ROBUST_OUTPUTS,
                ("items", "scenarios"), ("dualflow", "mezan"), "items", "max", "dict"),
    ProblemType("matrix_game", MatrixGameProblem, "dualflow.matrix_game",
                ("row_strategy", "column_strategy", "value"), ("payoff",), ("dualflow", "mezan"),
                "strategies", "max"),
    ProblemType("tsp", TSPProblem, "evo.memetic@tsp", _PERMUTATION_OUTPUTS, ("D",), ("evoflow", "mezan"), "n", "min"),
    ProblemType("linear_ordering", LinearOrderingProblem, "evo.memetic@linear_ordering", _PERMUTATION_OUTPUTS,
                ("W",), ("evoflow", "mezan"), "n", "min"),
)}

LIBRARY_ONLY_TYPES = {"permutation": "a Python callable objective (mezan.evo.PermutationProblem): no wire form"}
"""Problem types solvers register for that are not in :data:`TYPES`, and why."""


def sense_of(problem_type: str) -> str:
    """Return whether a problem type's objective is minimised or maximised.

    Parameters
    ----------
    problem_type : str
        A type of :data:`TYPES`, or a library-only one (:data:`LIBRARY_ONLY_TYPES`, which minimise).

    Returns
    -------
    str
        "min" or "max".
    """
    return TYPES[problem_type].sense if problem_type in TYPES else "min"


def types_on_route(route: str) -> tuple[str, ...]:
    """Return the problem types a service route accepts.

    Parameters
    ----------
    route : str
        A service route (one of :data:`ROUTES`, e.g. ``"dualflow"``).

    Returns
    -------
    tuple of str
        The names of the types whose ``routes`` include ``route``, in table order (empty for an unknown route).
    """
    return tuple(name for name, spec in TYPES.items() if route in spec.routes)


def problem_size(problem: Any) -> tuple[str, int]:
    """Return the quantity a size limit counts for a problem.

    Parameters
    ----------
    problem : object
        A problem record (anything with an ``n``; a ``problem_type`` not in :data:`TYPES` counts as ``"n"``).

    Returns
    -------
    tuple of (str, int)
        (what, how many): the table's name for what ``n`` counts (``"n"``, ``"tasks"``, ``"items"``, ...) and
        the record's ``n``.
    """
    spec = TYPES.get(getattr(problem, "problem_type", ""))
    return (spec.size if spec is not None else "n"), int(problem.n)


def from_wire(data: Any) -> Any:
    """Read a problem record from its wire form.

    Parameters
    ----------
    data : dict
        A wire-form problem, ``{"type": "qap", ...}``, of any type of :data:`TYPES`.

    Returns
    -------
    object
        The problem record (:class:`QAPProblem`, :class:`WorkflowProblem`, ...) the type's ``from_dict`` reads.

    Raises
    ------
    InvalidProblemError
        When ``data`` is not an object with a known ``type``, or its fields are not a valid problem of that type.
    """
    if not isinstance(data, dict) or not isinstance(data.get("type"), str) or data["type"] not in TYPES:
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise InvalidProblemError(f"unknown problem type {kind!r} (known: {', '.join(TYPES)})")
    return TYPES[data["type"]].record.from_dict(data)


def to_wire(problem: Any) -> dict[str, Any]:
    """Return the wire form of a problem record.

    Parameters
    ----------
    problem : object
        A problem record of a type of :data:`TYPES`.

    Returns
    -------
    dict
        ``{"type": ..., ...}``, JSON-ready; :func:`from_wire` reads it back.

    Raises
    ------
    InvalidProblemError
        When ``problem`` is not a record with a wire form (e.g. :class:`mezan.evo.PermutationProblem`).
    """
    if getattr(problem, "problem_type", None) not in TYPES:
        raise InvalidProblemError(f"{type(problem).__name__} is not a problem record with a wire form (types: "
                                  f"{', '.join(TYPES)})")
    return problem.to_dict()
