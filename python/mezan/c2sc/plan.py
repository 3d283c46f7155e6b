"""Compiling a composite request into a :class:`Plan` (see :mod:`mezan.c2sc`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mezan import registry
from mezan.errors import InvalidParameterError, InvalidProblemError, MezanError
from mezan.problems import COMMON_OUTPUTS, TYPES, find_cycle
from mezan.problems import from_wire as record_from_wire
from mezan.running import budget_seconds

OUTPUTS = {kind: COMMON_OUTPUTS + spec.outputs for kind, spec in TYPES.items()}
"""The result fields a reference may name, per subproblem type."""

OUTPUT_SHAPES: dict[str, str] = {
    "permutation": "list", "best": "list", "critical_path": "list", "edges": "list", "scenario_values": "list",
    "row_strategy": "list", "column_strategy": "list", "start": "dict", "allocation": "dict", "duals": "dict",
    "flows": "dict", "status": "string",
}
"""What each result field holds when it is not a number: a reference may index into a list with [k] and into
a dict with .key, and into nothing else (checked at compile time; values are checked again after resolution)."""

Admit = Callable[[Any, float], float]
"""A caller's admission hook: ``admit(problem_record, time_limit) -> time_limit to use``; it raises a
:class:`mezan.errors.MezanError` to refuse a subproblem (too large for the caller, ...). The service passes the
same check it applies to a direct request, so a composite request is just another caller."""

CONTROL_FIELDS = ("type", "id", "depends_on", "solver", "time_limit")
_REFERENCE = re.compile(r"^\$([A-Za-z_][\w-]*)\.(.+)$")
_SEGMENT = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


class PlanError(InvalidProblemError):
    """A composite request that cannot be compiled: the message names the subproblem and field."""


def parse_path(path: str) -> list[str | int]:
    """``"solution[3]"`` -> ["solution", 3]; ``"start.t1"`` -> ["start", "t1"]."""
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if match is None or match.end() == position:
            raise PlanError(f"cannot read the reference path {path!r} at character {position}")
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    return parts


@dataclass(frozen=True)
class Reference:
    """A reference found in a subproblem: ``where`` (the field's path in the request) = ``$source.path``."""

    subproblem: str
    where: str
    source: str
    path: tuple[str | int, ...]
    text: str


def references(value: Any, where: str = "") -> list[tuple[str, str, str]]:
    """Every reference string inside a request value: (field path, source id, source path)."""
    found = []
    if isinstance(value, str):
        match = _REFERENCE.match(value)
        if match:
            found.append((where, match.group(1), match.group(2)))
    elif isinstance(value, dict):
        for k, v in value.items():
            found += references(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += references(v, f"{where}[{i}]")
    return found


@dataclass
class Plan:
    """A compiled composite request, made by :func:`compile` and executed by :func:`mezan.c2sc.run`.

    Parameters
    ----------
    subproblems : dict
        Subproblem id -> its request object (wire form, references unresolved).
    order : list of str
        The ids in a topological order (stage by stage).
    stages : list of list of str
        Stage k holds the ids whose longest chain of dependencies has k links (request order within a stage):
        every dependency lies in an earlier stage, so a stage's subproblems may run concurrently.
    depends_on : dict
        Subproblem id -> the ids it depends on.
    references : list of Reference, optional
        Every reference ``"$<id>.<path>"`` found in the subproblems, checked against the dependencies and the
        fields their solvers produce.
    """

    subproblems: dict[str, dict[str, Any]]
    order: list[str]
    stages: list[list[str]]
    depends_on: dict[str, list[str]]
    references: list[Reference] = field(default_factory=list)

    def solver_of(self, subproblem: str) -> str:
        spec = self.subproblems[subproblem]
        return spec.get("solver") or TYPES[spec["type"]].solver


def _label(k: int, spec: Any) -> str:
    return f"subproblems[{k}]" + (f" (id {spec['id']!r})" if isinstance(spec, dict) and "id" in spec else "")


def _check_path(parts: list[str | int], label: str, kind: str) -> None:
    """A reference may go one level into a list result (``[k]``) or a dict result (``.key``), no further."""
    shape = TYPES[kind].solution_shape if parts[0] == "solution" else OUTPUT_SHAPES.get(str(parts[0]), "number")
    if len(parts) == 1:
        return
    if len(parts) > 2 or shape not in ("list", "dict"):
        raise PlanError(f"{label}: {parts[0]!r} holds a {shape}, which cannot be indexed by {parts[1:]!r}")
    if shape == "list" and not isinstance(parts[1], int):
        raise PlanError(f"{label}: {parts[0]!r} is a list; index it with [k], not .{parts[1]}")
    if shape == "dict" and not isinstance(parts[1], str):
        raise PlanError(f"{label}: {parts[0]!r} is keyed by names; use .key, not [{parts[1]}]")


def admit_subproblem(admit: Admit, problem: Any, spec: dict[str, Any], label: str, default_time_limit: float) -> float:
    """Run the caller's admission hook on one subproblem; its refusal becomes a PlanError naming the subproblem."""
    try:
        return float(admit(problem, float(spec.get("time_limit", default_time_limit))))
    except MezanError as exc:
        raise PlanError(f"{label}: {exc}") from None


def compile(request: dict[str, Any], *, admit: Admit | None = None,
            default_time_limit: float = 10.0) -> Plan:
    """Validate a composite request and order it into a :class:`Plan` (see :mod:`mezan.c2sc`).

    Every subproblem without references is validated fully now; one with references has its required fields
    checked now and the rest after resolution. The dependencies must form no cycle, and every reference must name a
    dependency and a field its solver produces.

    Parameters
    ----------
    request : dict
        ``{"type": "composite", "subproblems": [...]}``, each subproblem an object with an ``id``, a ``type``, its
        wire-form fields and optionally ``depends_on`` (an id or a list of ids), ``solver`` and ``time_limit``.
    admit : callable, optional
        The caller's admission hook (:data:`Admit`): ``admit(problem_record, time_limit) -> time_limit``, applied
        here to every subproblem without references and by :func:`mezan.c2sc.run` to the others once resolved.
    default_time_limit : float, default 10.0
        The time limit ``admit`` is given for a subproblem that sets none.

    Returns
    -------
    Plan
        The compiled plan: subproblems, topological order, stages and references.

    Raises
    ------
    PlanError
        When the request cannot be compiled (a malformed or unknown subproblem, an unknown dependency, a cycle, a
        bad reference, a solver of another type, or ``admit``'s refusal); the message names the subproblem and the
        field.
    """
    if not isinstance(request, dict) or request.get("type") != "composite":
        raise PlanError("a composite request is an object with \"type\": \"composite\" and \"subproblems\"")
    subs = request.get("subproblems")
    if not isinstance(subs, list) or not subs:
        raise PlanError("subproblems must be a non-empty list")
    specs: dict[str, dict[str, Any]] = {}
    labels: dict[str, str] = {}
    for k, spec in enumerate(subs):
        label = _label(k, spec)
        if not isinstance(spec, dict):
            raise PlanError(f"{label} must be an object")
        if not isinstance(spec.get("id"), str) or not spec["id"]:
            raise PlanError(f"{label}: missing field 'id' (a non-empty string)")
        if spec["id"] in specs:
            raise PlanError(f"{label}: id {spec['id']!r} is used twice")
        if not isinstance(spec.get("type"), str) or spec["type"] not in TYPES:
            raise PlanError(f"{label}: unknown type {spec.get('type')!r} (known: {', '.join(TYPES)})")
        solver = spec.get("solver")
        if solver is not None:
            if not isinstance(solver, str):
                raise PlanError(f"{label}, field solver: must be a registered solver's name, got {solver!r}")
            try:
                registered = registry.get(solver)
            except MezanError as exc:
                raise PlanError(f"{label}, field solver: {exc}") from None
            if registered.problem_type != spec["type"]:
                raise PlanError(f"{label}, field solver: {solver!r} solves {registered.problem_type!r} problems, "
                                f"not {spec['type']!r}")
        if "time_limit" in spec:  # the one budget parser of every boundary
            try:
                budget_seconds(spec["time_limit"], f"{label}, field time_limit", allow_infinite=False)
            except InvalidParameterError as exc:
                raise PlanError(str(exc)) from None
        for required in TYPES[spec["type"]].required:
            if required not in spec:
                raise PlanError(f"{label}: missing field {required!r} for a {spec['type']!r} subproblem")
        specs[spec["id"]] = spec
        labels[spec["id"]] = label
    depends: dict[str, list[str]] = {}
    for sid, spec in specs.items():
        raw = spec.get("depends_on", [])
        parents = [raw] if isinstance(raw, str) else raw
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            raise PlanError(f"{labels[sid]}, field depends_on: must be an id or a list of ids")
        for p in parents:
            if p not in specs:
                raise PlanError(f"{labels[sid]}, field depends_on: unknown subproblem {p!r}")
            if p == sid:
                raise PlanError(f"{labels[sid]}, field depends_on: a subproblem cannot depend on itself")
        depends[sid] = list(dict.fromkeys(parents))
    cycle = find_cycle(depends, [(child, parent) for child, parents in depends.items() for parent in parents])
    if cycle:
        raise PlanError("dependency cycle (each depends on the next): " + " -> ".join([*cycle, cycle[0]]))
    refs = []
    for sid, spec in specs.items():
        body = {k: v for k, v in spec.items() if k not in CONTROL_FIELDS}
        found = references(body)
        for where, source, path in found:
            text = f"${source}.{path}"
            if source not in depends[sid]:
                raise PlanError(f"{labels[sid]}, field {where}: reference {text} names {source!r}, which is not a "
                                f"dependency (depends_on: {', '.join(depends[sid]) or 'none'})")
            parts = parse_path(path)
            produced = OUTPUTS[specs[source]["type"]]
            if not isinstance(parts[0], str) or parts[0] not in produced:
                raise PlanError(f"{labels[sid]}, field {where}: reference {text} names field {parts[0]!r}, which a "
                                f"{specs[source]['type']!r} solver does not produce ({', '.join(produced)})")
            _check_path(parts, f"{labels[sid]}, field {where}: reference {text}", specs[source]["type"])
            refs.append(Reference(sid, where, source, tuple(parts), text))
        if not found:
            problem = record_of(spec, labels[sid])  # no reference: validate the whole subproblem now
            if admit is not None:
                admit_subproblem(admit, problem, spec, labels[sid], default_time_limit)
    # Stage k holds the subproblems whose longest chain of dependencies has k links (request order within a
    # stage); computed in topological order, O(subproblems + dependencies).
    level: dict[str, int] = {}
    children: dict[str, list[str]] = {sid: [] for sid in specs}
    waiting = {sid: len(parents) for sid, parents in depends.items()}
    for sid, parents in depends.items():
        for parent in parents:
            children[parent].append(sid)
    ready = [sid for sid, count in waiting.items() if count == 0]
    while ready:
        sid = ready.pop()
        level[sid] = max((level[p] + 1 for p in depends[sid]), default=0)
        for child in children[sid]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    stages: list[list[str]] = [[] for _ in range(max(level.values()) + 1)]
    for sid in specs:
        stages[level[sid]].append(sid)
    return Plan(specs, [sid for stage in stages for sid in stage], stages, depends, refs)


def record_of(spec: dict[str, Any], label: str) -> Any:
    """The typed problem record of a (resolved) subproblem; errors name the subproblem."""
    body = {k: v for k, v in spec.items() if k not in CONTROL_FIELDS or k == "type"}
    try:
        return TYPES[spec["type"]].record.from_dict(body)
    except InvalidProblemError as exc:
        raise PlanError(f"{label}: {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        # a value of the wrong kind where the record expected another (e.g. a resolved reference)
        raise PlanError(f"{label}: malformed {spec['type']} problem: {exc}") from None


def from_wire(data: dict[str, Any]) -> Any:
    """Return the problem record of a single wire-form problem.

    Parameters
    ----------
    data : dict
        The wire form, ``{"type": "qap", ...}``, of any type of :data:`mezan.problems.TYPES`.

    Returns
    -------
    object
        The typed problem record (a :class:`mezan.problems.QAPProblem`, ...).

    Raises
    ------
    PlanError
        When ``data`` is not an object with a known ``type``.
    mezan.errors.InvalidProblemError
        When the problem's fields are missing or malformed.
    """
    if not isinstance(data, dict) or not isinstance(data.get("type"), str) or data["type"] not in TYPES:
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise PlanError(f"unknown problem type {kind!r} (known: {', '.join(TYPES)}, composite)")
    try:
        return record_from_wire(data)
    except InvalidProblemError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        # a field of the wrong kind that the record's parser tripped over before naming it
        raise InvalidProblemError(f"malformed {data['type']} problem: {type(exc).__name__}: {exc}") from None
