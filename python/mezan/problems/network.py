"""GraphFlow's record: network topology design."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mezan.errors import InvalidProblemError
from mezan.problems.fingerprint import Fingerprinted
from mezan.problems.values import _number, wire_form

NETWORK_TASKS = ("mst", "steiner", "min_cost_flow", "fixed_charge")


@dataclass(frozen=True, eq=False)
class NetworkDesignProblem(Fingerprinted):
    """Network topology design on a graph (GraphFlow).

    The ``task`` says what to design:

    - ``"mst"``: minimum spanning tree (forest) of the undirected graph by edge ``cost``;
    - ``"steiner"``: a tree connecting the ``terminals`` (a 2-approximation, see GraphFlow);
    - ``"min_cost_flow"``: route the nodes' ``supply`` (> 0 sources, < 0 sinks, summing to 0) along
      directed edges with ``capacity`` at minimum total ``cost`` x flow;
    - ``"fixed_charge"``: capacitated fixed-charge design — choose edges (paying ``fixed_cost``) and
      route the supplies on them (paying ``cost`` per unit), minimising the sum.

    Wire form::

        {"type": "network_design", "task": "fixed_charge",
         "nodes": [{"id": "a", "supply": 5}, {"id": "b"}, {"id": "c", "supply": -5}],
         "edges": [{"from": "a", "to": "b", "cost": 1, "capacity": 10, "fixed_cost": 20}, ...],
         "terminals": ["a", "c"]}                                     # terminals: steiner only

    Parameters
    ----------
    task : str
        One of ``"mst"``, ``"steiner"``, ``"min_cost_flow"``, ``"fixed_charge"`` (:data:`NETWORK_TASKS`).
    nodes : tuple of str
        The node ids (at least one, unique).
    edges : tuple of (str, str, float, float or None, float)
        ``(from, to, cost, capacity, fixed_cost)`` per edge, between known nodes and no loops; ``capacity``
        >= 0 or None (uncapacitated); ``cost`` >= 0 for the tree tasks. Undirected for the tree tasks, directed
        (from -> to) for the flow tasks.
    supply : dict of str to float, optional
        Node id -> supply (> 0 a source, < 0 a sink; a node not named has 0). The supplies must sum to 0 for the
        flow tasks. Default: none.
    terminals : tuple of str, optional
        The nodes the Steiner tree connects (``"steiner"`` only, which needs at least one).
    name : str, optional
        The instance's name (a label: not part of the fingerprint).

    Raises
    ------
    InvalidProblemError
        When a field is invalid, naming it: an unknown task, no nodes or a duplicate node, an edge naming an
        unknown node or forming a loop, a negative capacity (or a negative cost for a tree), a number that is not
        finite or beyond :data:`MAX_LP_VALUE`, supplies that do not sum to 0, or missing or unknown terminals.
    """

    task: str
    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str, float, float | None, float], ...]  # (from, to, cost, capacity, fixed_cost)
    supply: dict[str, float] = field(default_factory=dict)
    terminals: tuple[str, ...] = ()
    name: str | None = None
    problem_type: str = field(default="network_design", init=False)

    def __post_init__(self) -> None:
        if self.task not in NETWORK_TASKS:
            raise InvalidProblemError(f"task must be one of {', '.join(NETWORK_TASKS)}; got {self.task!r}")
        if not self.nodes:
            raise InvalidProblemError("nodes must list at least one node")
        if len(set(self.nodes)) != len(self.nodes):
            raise InvalidProblemError("nodes: a node id is used twice")
        known = set(self.nodes)
        for k, (u, v, cost, capacity, fixed_cost) in enumerate(self.edges):
            _number(f"edges[{k}].cost", cost)
            _number(f"edges[{k}].capacity", capacity, allow_none=True)
            _number(f"edges[{k}].fixed_cost", fixed_cost)
            for end, node in (("from", u), ("to", v)):
                if node not in known:
                    raise InvalidProblemError(f"edges[{k}].{end} names unknown node {node!r}")
            if u == v:
                raise InvalidProblemError(f"edges[{k}] is a loop on {u!r}")
            if capacity is not None and capacity < 0:
                raise InvalidProblemError(f"edges[{k}].capacity must be >= 0, got {capacity:g}")
            if self.task in ("mst", "steiner") and cost < 0:
                raise InvalidProblemError(f"edges[{k}].cost must be >= 0 for a tree, got {cost:g}")
        for node, amount in self.supply.items():
            if node not in known:
                raise InvalidProblemError(f"supply names unknown node {node!r}")
            _number(f"supply[{node!r}]", amount)
        if self.task in ("min_cost_flow", "fixed_charge"):
            total = sum(self.supply.values())
            if abs(total) > 1e-9 * max(1.0, sum(abs(s) for s in self.supply.values())):
                raise InvalidProblemError(f"supplies must sum to 0 (sources > 0, sinks < 0), got {total:g}")
        if self.task == "steiner":
            if len(self.terminals) < 1:
                raise InvalidProblemError("terminals must list the nodes the Steiner tree connects")
            for t in self.terminals:
                if t not in known:
                    raise InvalidProblemError(f"terminals names unknown node {t!r}")

    @property
    def n(self) -> int:
        return len(self.nodes)

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> NetworkDesignProblem:
        if not isinstance(data, dict):
            raise InvalidProblemError(f"a network design problem must be a JSON object, got {type(data).__name__}")
        if data.get("type", "network_design") != "network_design":
            raise InvalidProblemError(f"type must be 'network_design', got {data.get('type')!r}")
        nodes, supply = [], {}
        if not isinstance(data.get("nodes"), list):
            raise InvalidProblemError("nodes must be a list of {'id': ..., 'supply': ...} objects")
        for k, raw in enumerate(data["nodes"]):
            if not isinstance(raw, dict) or "id" not in raw:
                raise InvalidProblemError(f"nodes[{k}] must be an object with an 'id'")
            nodes.append(str(raw["id"]))
            if "supply" in raw:
                supply[str(raw["id"])] = _number(f"nodes[{k}].supply", raw["supply"])
        edges = []
        if not isinstance(data.get("edges"), list):
            raise InvalidProblemError("edges must be a list of {'from', 'to', 'cost', ...} objects")
        for k, raw in enumerate(data["edges"]):
            if not isinstance(raw, dict) or not {"from", "to"} <= set(raw):
                raise InvalidProblemError(f"edges[{k}] needs 'from' and 'to'")
            edges.append((str(raw["from"]), str(raw["to"]), _number(f"edges[{k}].cost", raw.get("cost", 0.0)),
                          _number(f"edges[{k}].capacity", raw.get("capacity"), allow_none=True),
                          _number(f"edges[{k}].fixed_cost", raw.get("fixed_cost", 0.0))))
        if not isinstance(data.get("terminals") or [], list):
            raise InvalidProblemError("terminals must be a list of node ids")
        terminals = tuple(str(t) for t in data.get("terminals") or ())
        return cls(str(data.get("task")), tuple(nodes), tuple(edges), supply, terminals, name=data.get("name"))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.problem_type, "task": self.task, "name": self.name,
                "nodes": [{"id": v, **({"supply": self.supply[v]} if v in self.supply else {})} for v in self.nodes],
                "edges": [{"from": u, "to": v, "cost": c, "capacity": cap, "fixed_cost": f}
                          for u, v, c, cap, f in self.edges],
                "terminals": list(self.terminals)}
