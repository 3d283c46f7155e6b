"""WorkFlow's record: DAG task scheduling with resources and agents (and the cycle search
that C2SC's dependency check shares)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mezan.errors import InvalidProblemError
from mezan.problems.fingerprint import Fingerprinted
from mezan.problems.values import _whole, wire_form


def find_cycle(nodes: Any, edges: Any) -> list[str]:
    """Find a directed cycle of a graph.

    Kahn's algorithm removes every node that no cycle passes through, in O(nodes + edges); a cycle is then walked
    among the nodes left (each keeps an in-edge from another one left). Linear time matters here: this check
    runs on every workflow and composite request before any size limit can apply to its solve.

    Parameters
    ----------
    nodes : iterable
        The graph's nodes (hashable; duplicates are ignored). The order is the one the cycle is reported in.
    edges : iterable of pairs
        The directed edges ``(u, v)``; an end not among ``nodes`` is added after them.

    Returns
    -------
    list
        The nodes of a directed cycle, in order (each has an edge to the next, the last to the first), starting
        from its node that comes first in ``nodes``; ``[]`` when the graph has no cycle.
    """
    nodes = list(dict.fromkeys(nodes))
    successors: dict[Any, list[Any]] = {v: [] for v in nodes}
    predecessors: dict[Any, list[Any]] = {v: [] for v in nodes}
    indegree: dict[Any, int] = dict.fromkeys(nodes, 0)
    for u, v in edges:
        for end in (u, v):
            if end not in successors:
                successors[end], predecessors[end], indegree[end] = [], [], 0
        successors[u].append(v)
        predecessors[v].append(u)
        indegree[v] += 1
    ready = [v for v, d in indegree.items() if d == 0]
    while ready:
        u = ready.pop()
        for v in successors[u]:
            indegree[v] -= 1
            if indegree[v] == 0:
                ready.append(v)
    left = {v for v, d in indegree.items() if d > 0}
    if not left:
        return []
    # Every node left has a predecessor left: walk predecessors until a node repeats; that loop is a cycle.
    seen: dict[Any, int] = {}
    walk: list[Any] = []
    v = next(u for u in successors if u in left)
    while v not in seen:
        seen[v] = len(walk)
        walk.append(v)
        v = next(u for u in predecessors[v] if u in left)
    cycle = walk[seen[v]:]
    cycle.reverse()  # walked against the edges
    position = {u: k for k, u in enumerate(successors)}  # the given order: report from its earliest node
    first = min(range(len(cycle)), key=lambda k: position[cycle[k]])
    return cycle[first:] + cycle[:first]


@dataclass(frozen=True)
class WorkflowTask:
    """One task of a :class:`WorkflowProblem`.

    The task's fields are checked by the :class:`WorkflowProblem` that holds it.

    Parameters
    ----------
    id : str
        The task's id, unique in its problem (non-empty).
    duration : int
        Time units the task takes (a whole number >= 0).
    resources : dict of str to int, optional
        Resource name -> units the task holds while it runs (whole numbers >= 0); each name must be a resource of
        the problem. Default: none.
    agent : str or None, optional
        The agent that performs the task (an agent does one task at a time); None for none.
    """

    id: str
    duration: int
    resources: dict[str, int] = field(default_factory=dict)
    agent: str | None = None


@dataclass(frozen=True, eq=False)
class WorkflowProblem(Fingerprinted):
    """DAG task scheduling with renewable resources (RCPSP) and agents: minimise the makespan.

    Wire form::

        {"type": "workflow",
         "tasks": [{"id": "t1", "duration": 3, "resources": {"lab": 1}, "agent": 0}, ...],
         "precedences": [["t1", "t2"], ...],          # t2 starts after t1 ends
         "resources": {"lab": 2}}                       # capacities

    Parameters
    ----------
    tasks : tuple of WorkflowTask
        The tasks (at least one), with unique ids.
    precedences : tuple of (str, str), optional
        Pairs ``(before, after)`` of task ids: ``after`` starts once ``before`` has ended. Default: none.
    resources : dict of str to int, optional
        Resource name -> capacity (a whole number >= 0), the units available at any time. Default: none.
    name : str, optional
        The instance's name (a label: not part of the fingerprint).

    Raises
    ------
    InvalidProblemError
        When a field is invalid, naming it: no tasks, a duplicate or empty id, a duration, demand or capacity
        that is not a whole number >= 0, an unknown resource or task named, or a precedence cycle (named in
        order).
    """

    tasks: tuple[WorkflowTask, ...]
    precedences: tuple[tuple[str, str], ...] = ()
    resources: dict[str, int] = field(default_factory=dict)
    name: str | None = None
    problem_type: str = field(default="workflow", init=False)

    def __post_init__(self) -> None:
        if not self.tasks:
            raise InvalidProblemError("tasks must list at least one task")
        ids = [t.id for t in self.tasks]
        seen: set[str] = set()
        for k, task in enumerate(self.tasks):
            if not isinstance(task.id, str) or not task.id:
                raise InvalidProblemError(f"tasks[{k}].id must be a non-empty string")
            if task.id in seen:
                raise InvalidProblemError(f"tasks[{k}].id {task.id!r} is used twice")
            seen.add(task.id)
            _whole(f"tasks[{k}].duration", task.duration)
            for resource, units in task.resources.items():
                _whole(f"tasks[{k}].resources[{resource!r}]", units)
            for resource in task.resources:
                if resource not in self.resources:
                    raise InvalidProblemError(f"tasks[{k}] ({task.id}) uses resource {resource!r}, which is not in "
                                              f"resources ({', '.join(self.resources) or 'none'})")
        for resource, capacity in self.resources.items():
            _whole(f"resources[{resource!r}]", capacity)
        for k, (a, b) in enumerate(self.precedences):
            for end, task_id in (("first", a), ("second", b)):
                if task_id not in seen:
                    raise InvalidProblemError(f"precedences[{k}] names unknown task {task_id!r} ({end} of the pair)")
        cycle = find_cycle(ids, self.precedences)
        if cycle:
            raise InvalidProblemError("precedences form a cycle: " + " -> ".join([*cycle, cycle[0]]))

    @property
    def n(self) -> int:
        return len(self.tasks)

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> WorkflowProblem:
        if not isinstance(data, dict):
            raise InvalidProblemError(f"a workflow problem must be a JSON object, got {type(data).__name__}")
        if data.get("type", "workflow") != "workflow":
            raise InvalidProblemError(f"type must be 'workflow', got {data.get('type')!r}")
        resources_raw = data.get("resources") or {}
        if not isinstance(resources_raw, dict):
            raise InvalidProblemError("resources must be an object of name -> capacity")
        resources = {str(r): _whole(f"resources[{r!r}]", c) for r, c in resources_raw.items()}
        if not isinstance(data.get("tasks"), list):
            raise InvalidProblemError("tasks must be a list of objects")
        tasks = []
        for k, raw in enumerate(data["tasks"]):
            where = f"tasks[{k}]"
            if not isinstance(raw, dict) or "id" not in raw or "duration" not in raw:
                raise InvalidProblemError(f"{where} needs 'id' and 'duration'")
            unknown = set(raw) - {"id", "duration", "resources", "agent"}
            if unknown:
                raise InvalidProblemError(f"{where} has unknown field(s) {sorted(unknown)}")
            uses = raw.get("resources") or {}
            if not isinstance(uses, dict):
                raise InvalidProblemError(f"{where}.resources must be an object of name -> units")
            tasks.append(WorkflowTask(str(raw["id"]), _whole(f"{where}.duration", raw["duration"]),
                                      {str(r): _whole(f"{where}.resources[{r!r}]", u) for r, u in uses.items()},
                                      None if raw.get("agent") is None else str(raw["agent"])))
        precedences = []
        if not isinstance(data.get("precedences") or [], list):
            raise InvalidProblemError("precedences must be a list of [before, after] pairs")
        for k, pair in enumerate(data.get("precedences") or []):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise InvalidProblemError(f"precedences[{k}] must be a pair [before, after]")
            precedences.append((str(pair[0]), str(pair[1])))
        return cls(tuple(tasks), tuple(precedences), resources, name=data.get("name"))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.problem_type, "name": self.name,
                "tasks": [{"id": t.id, "duration": t.duration, "resources": dict(t.resources), "agent": t.agent}
                          for t in self.tasks],
                "precedences": [list(p) for p in self.precedences], "resources": dict(self.resources)}
