"""GraphFlow: network topology design with networkx and HiGHS.

- ``mst``: minimum spanning tree (Kruskal, ``networkx.minimum_spanning_tree``; a spanning forest when
  the graph is disconnected). Exact: ``lower_bound`` = cost.
- ``steiner``: Mehlhorn's algorithm (``networkx.algorithms.approximation.steiner_tree``, Mehlhorn
  1988): a tree through every terminal costing at most 2 (1 - 1/t) times the optimum for t terminals,
  so ``lower_bound`` = cost / (2 (1 - 1/t)) is a proven bound. Parallel edges keep the cheapest.
- ``min_cost_flow``: the flow LP on the directed edges, by HiGHS's dual simplex (exact: a vertex, integral
  for integral data; networkx's network simplex may loop forever on floating-point data, so it is not used).
- ``fixed_charge``: capacitated fixed-charge network design as a MILP on HiGHS (``scipy.optimize.milp``):
  per directed edge e a flow f_e >= 0 and an opening y_e in {0, 1}, f_e <= cap_e y_e (cap_e = the total
  supply when uncapacitated), flow conservation at every node, minimise sum_e (cost_e f_e + fixed_e y_e);
  ``lower_bound`` is HiGHS's dual bound.

Edges are undirected for the tree tasks and directed (from -> to) for the flow tasks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint
from scipy.sparse import coo_matrix

from mezan.errors import InvalidParameterError
from mezan.flows import highs
from mezan.problems import NetworkDesignProblem
from mezan.results import Result
from mezan.running import reports_final_objective, seconds_left, time_limit_seconds


@dataclass(frozen=True, kw_only=True, repr=False)  # Result's compact repr
class NetworkResult(Result):
    """Outcome of :func:`solve_network`: the common fields of :class:`mezan.results.Result` and GraphFlow's own.

    All fields are keyword-only.

    Parameters
    ----------
    solution : list of (str, str) or None, optional
        The chosen edges as (from, to) pairs (also read as :attr:`edges`; sorted ends for the tree tasks); None
        when there is no design.
    objective : float or None, optional
        The total cost; None exactly when there is no solution.
    status : Status or str, default "feasible"
        "optimal", "feasible" (the Steiner approximation, or HiGHS stopped without a proof), "timeout",
        "cancelled", "infeasible", "unbounded" or "error" (``reason`` says why).
    lower_bound : float or None, optional
        A proven bound on the optimum (for the Steiner tree, the cost over the approximation's ratio).
    upper_bound : float or None, optional
        The cost of the design found.
    gap : float or None, optional
        Not set by GraphFlow (None).
    solver : str or None, default "graphflow"
        The method that ran: ``graphflow.mst``, ``graphflow.steiner``, ``graphflow.min_cost_flow`` or
        ``graphflow.fixed_charge``.
    seed : int or None, optional
        Always None: the methods are deterministic.
    wall_time : float, default 0.0
        Seconds spent.
    iterations : int, default 0
        Not counted by GraphFlow (0).
    trace : list of (float, float), optional
        Not recorded by GraphFlow (empty).
    explanation : str, optional
        The method used.
    reason : str, optional
        Why there is no design, when there is none.
    flows : dict of str to float, optional
        ``"from->to"`` -> flow on that edge (flow tasks only; parallel edges summed).
    guarantee : str, optional
        What the method promises (exact, or the approximation ratio).

    Attributes
    ----------
    edges : list of (str, str) or None
        The solution under its network name.
    """

    flows: dict[str, float] = field(default_factory=dict)
    guarantee: str = ""
    solver: str | None = "graphflow"

    @property
    def edges(self) -> list[tuple[str, str]] | None:
        """The solution under its network name."""
        return self.solution

    @classmethod
    def _decode(cls, values: dict[str, Any]) -> dict[str, Any]:
        if values.get("solution") is not None:
            values["solution"] = [tuple(e) for e in values["solution"]]
        return values


def _undirected(problem: NetworkDesignProblem):
    import networkx as nx  # start-up time: the registry imports mezan.flows

    graph = nx.Graph()
    graph.add_nodes_from(problem.nodes)
    for u, v, cost, _, _ in problem.edges:
        if not graph.has_edge(u, v) or graph[u][v]["cost"] > cost:
            graph.add_edge(u, v, cost=cost)
    return graph


def _tree(problem: NetworkDesignProblem, start: float) -> NetworkResult:
    import networkx as nx  # start-up time: the registry imports mezan.flows
    from networkx.algorithms.approximation import steiner_tree  # start-up time: the registry imports mezan.flows

    graph = _undirected(problem)
    if problem.task == "mst":
        tree = nx.minimum_spanning_tree(graph, weight="cost", algorithm="kruskal")
        components = nx.number_connected_components(graph)
        cost = float(sum(d["cost"] for _, _, d in tree.edges(data=True)))
        note = "" if components == 1 else f"; the graph has {components} components, so a spanning forest"
        return NetworkResult(solution=sorted(tuple(sorted(e)) for e in tree.edges()), objective=cost, status="optimal",
                             lower_bound=cost, upper_bound=cost,
                             guarantee="exact (Kruskal)", wall_time=time.perf_counter() - start,
                             solver="graphflow.mst", explanation="minimum spanning tree (Kruskal)" + note)
    terminals = list(dict.fromkeys(problem.terminals))
    component = nx.node_connected_component(graph, terminals[0])
    cut_off = [t for t in terminals if t not in component]
    if cut_off:
        return NetworkResult(status="infeasible", reason=f"terminal {cut_off[0]!r} is not connected to terminal "
                             f"{terminals[0]!r}", wall_time=time.perf_counter() - start, solver="graphflow.steiner")
    if len(terminals) == 1:
        return NetworkResult(solution=[], objective=0.0, status="optimal", lower_bound=0.0, upper_bound=0.0,
                             guarantee="exact (one terminal)",
                             wall_time=time.perf_counter() - start, solver="graphflow.steiner")
    # On the terminals' component only: Mehlhorn's construction needs every node reachable from a terminal.
    tree = steiner_tree(graph.subgraph(component), terminals, weight="cost", method="mehlhorn")
    cost = float(sum(d["cost"] for _, _, d in tree.edges(data=True)))
    ratio = 2.0 * (1.0 - 1.0 / len(terminals))
    return NetworkResult(solution=sorted(tuple(sorted(e)) for e in tree.edges()), objective=cost, status="feasible",
                         lower_bound=cost / ratio, upper_bound=cost,
                         guarantee=f"cost <= {ratio:g} x optimum (Mehlhorn's 2(1 - 1/t) for t = {len(terminals)})",
                         wall_time=time.perf_counter() - start, solver="graphflow.steiner",
                         explanation="Steiner tree by Mehlhorn's approximation (networkx)")


def _min_cost_flow(problem: NetworkDesignProblem, time_limit: float, stop: Any, start: float) -> NetworkResult:
    edges, nodes = problem.edges, list(problem.nodes)
    m = len(edges)
    index = {v: i for i, v in enumerate(nodes)}
    rows = [index[u] for u, _, _, _, _ in edges] + [index[v] for _, v, _, _, _ in edges]
    balance = coo_matrix(([1.0] * m + [-1.0] * m, (rows, list(range(m)) * 2)), shape=(len(nodes), m)).tocsr()
    supply = np.array([problem.supply.get(v, 0.0) for v in nodes])
    if m == 0:
        if np.any(supply):
            return NetworkResult(status="infeasible", reason="the supplies cannot be routed: no edges",
                                 wall_time=time.perf_counter() - start, solver="graphflow.min_cost_flow")
        return NetworkResult(solution=[], objective=0.0, status="optimal", lower_bound=0.0, upper_bound=0.0,
                             wall_time=time.perf_counter() - start, solver="graphflow.min_cost_flow")
    res, stopped = highs.linprog(c=np.array([e[2] for e in edges], dtype=float), A_eq=balance, b_eq=supply,
                                 bounds=[(0.0, e[3]) for e in edges], method="highs-ds",
                                 time_limit=seconds_left(time_limit, start), stop=stop)
    wall = time.perf_counter() - start
    if res is None or res.status == highs.INFEASIBLE:
        if stopped in ("cancelled", "time_limit"):
            return NetworkResult(status="cancelled" if stopped == "cancelled" else "timeout",
                                 reason=f"the LP was stopped ({stopped}) before a flow", wall_time=wall,
                                 solver="graphflow.min_cost_flow")
        return NetworkResult(status="infeasible", reason="the supplies cannot be routed within the capacities",
                             wall_time=wall, solver="graphflow.min_cost_flow")
    if res.status == highs.UNBOUNDED:
        return NetworkResult(status="unbounded", reason="a negative-cost cycle has unlimited capacity",
                             wall_time=wall, solver="graphflow.min_cost_flow")
    if res.status != highs.OPTIMAL or res.x is None:  # 1: HiGHS hit its time or iteration limit; 4: numerical trouble
        return NetworkResult(status="timeout" if res.status == highs.LIMIT else "error",
                             reason=f"HiGHS ended without an optimal flow ({res.message})", wall_time=wall,
                             solver="graphflow.min_cost_flow")
    flows: dict[str, float] = {}
    chosen = []
    for k, (u, v, _, _, _) in enumerate(edges):
        f = float(res.x[k])
        if f > 1e-9 * max(1.0, abs(f)):
            flows[f"{u}->{v}"] = flows.get(f"{u}->{v}", 0.0) + f
            chosen.append((u, v))
    cost = float(res.fun) + 0.0
    return NetworkResult(solution=chosen, objective=cost, status="optimal", flows=flows, lower_bound=cost,
                         upper_bound=cost,
                         guarantee="exact (LP, HiGHS dual simplex: a vertex, integral for integral data)",
                         wall_time=wall, solver="graphflow.min_cost_flow",
                         explanation="min-cost flow as a linear program (HiGHS dual simplex)")


def _fixed_charge(problem: NetworkDesignProblem, time_limit: float, stop: Any, start: float) -> NetworkResult:
    edges, nodes = problem.edges, list(problem.nodes)
    m = len(edges)
    if m == 0:  # nothing to open: feasible only when nothing has to move
        feasible = not any(problem.supply.values())
        return NetworkResult(solution=[] if feasible else None, objective=0.0 if feasible else None,
                             status="optimal" if feasible else "infeasible",
                             lower_bound=0.0 if feasible else None,
                             reason="" if feasible else "the supplies cannot be routed: no edges",
                             wall_time=time.perf_counter() - start, solver="graphflow.fixed_charge")
    total_supply = sum(s for s in problem.supply.values() if s > 0)
    c = np.array([e[2] for e in edges] + [e[4] for e in edges])  # flows, then openings
    index = {v: i for i, v in enumerate(nodes)}
    balance = np.zeros((len(nodes), 2 * m))
    for k, (u, v, _, _, _) in enumerate(edges):
        balance[index[u], k] += 1.0
        balance[index[v], k] -= 1.0
    supply = np.array([problem.supply.get(v, 0.0) for v in nodes])
    linking = np.zeros((m, 2 * m))  # f_e - cap_e y_e <= 0
    for k, (_, _, _, capacity, _) in enumerate(edges):
        linking[k, k] = 1.0
        linking[k, m + k] = -(total_supply if capacity is None else capacity)
    constraints = [LinearConstraint(balance, supply, supply)]
    if m:
        constraints.append(LinearConstraint(linking, -np.inf, 0.0))
    integrality = np.array([0] * m + [1] * m)
    res, stopped = highs.milp(c=c, constraints=constraints, integrality=integrality,
                              bounds=Bounds(np.zeros(2 * m), np.array([np.inf] * m + [1.0] * m)),
                              time_limit=seconds_left(time_limit, start), stop=stop)
    wall = time.perf_counter() - start
    if res is None:
        return NetworkResult(status="cancelled" if stopped == "cancelled" else "timeout",
                             reason=f"HiGHS was stopped ({stopped}) before a design", wall_time=wall,
                             solver="graphflow.fixed_charge")
    if res.status == highs.INFEASIBLE:
        return NetworkResult(status="infeasible", reason="the supplies cannot be routed on the edges and their "
                             "capacities", wall_time=wall, solver="graphflow.fixed_charge")
    if res.x is None:
        return NetworkResult(status="timeout", reason="time limit reached before a design", wall_time=wall,
                             solver="graphflow.fixed_charge")
    flows, chosen = {}, []
    for k, (u, v, _, _, _) in enumerate(edges):
        if res.x[m + k] > 0.5:
            chosen.append((u, v))
            if res.x[k] > 1e-9:
                flows[f"{u}->{v}"] = flows.get(f"{u}->{v}", 0.0) + float(res.x[k])
    bound = getattr(res, "mip_dual_bound", None)
    return NetworkResult(solution=chosen, objective=float(res.fun), upper_bound=float(res.fun), flows=flows,
                         status=highs.solved_status(res.status),
                         lower_bound=None if bound is None or not np.isfinite(bound) else float(bound),
                         guarantee="exact MILP (HiGHS branch and cut) when status is optimal", wall_time=wall,
                         solver="graphflow.fixed_charge",
                         explanation="capacitated fixed-charge network design, MILP on HiGHS")


@reports_final_objective
def solve_network(problem: NetworkDesignProblem, *, time_limit: float = 10.0, seed: int | None = None,
                  stop: Any = None, progress: Any = None) -> NetworkResult:
    """Solve a network design problem by its ``task``.

    ``"mst"``: Kruskal (exact); ``"steiner"``: Mehlhorn's 2-approximation, with a proven lower bound;
    ``"min_cost_flow"``: the flow LP on HiGHS's dual simplex (exact); ``"fixed_charge"``: a MILP on HiGHS
    (see :mod:`mezan.flows.graph`). HiGHS runs in an isolated worker that ``time_limit`` and ``stop`` end; the
    tree tasks run to completion.

    Parameters
    ----------
    problem : NetworkDesignProblem
        The graph, the task and its data (supplies, terminals).
    time_limit : float or None, default 10.0
        Seconds for the flow tasks' HiGHS solve (None or ``inf``: no limit).
    seed : int or None, optional
        Accepted for the Solver protocol and ignored: the methods are deterministic.
    stop : threading.Event, optional
        Anything with ``is_set()``: once set, HiGHS is stopped (status "cancelled", no design).
    progress : callable, optional
        ``progress(cost, elapsed_seconds)``, called once with the cost found.

    Returns
    -------
    NetworkResult
        The chosen edges, their cost, the flows (flow tasks), a lower bound and the method's guarantee; or no
        design with status "infeasible" (e.g. a terminal not connected to the others), "unbounded", "timeout",
        "cancelled" or "error" and a ``reason``.

    Raises
    ------
    InvalidParameterError
        When ``problem`` is not a :class:`NetworkDesignProblem` or ``time_limit`` is not a positive number of
        seconds.
    """
    start = time.perf_counter()
    if not isinstance(problem, NetworkDesignProblem):
        raise InvalidParameterError(f"problem must be a NetworkDesignProblem, got {type(problem).__name__}")
    del seed, progress  # the Solver protocol's: HiGHS is deterministic; @reports_final_objective reports progress
    time_limit = time_limit_seconds(time_limit)
    if problem.task in ("mst", "steiner"):
        return _tree(problem, start)
    if problem.task == "min_cost_flow":
        return _min_cost_flow(problem, time_limit, stop, start)
    return _fixed_charge(problem, time_limit, stop, start)
