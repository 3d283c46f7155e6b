"""GraphFlow against independent oracles: scipy's MST, enumerated Steiner trees, an LP for min-cost
flow, and enumeration of edge subsets for fixed-charge design."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezan import registry
from mezan.errors import InvalidProblemError
from mezan.flows import solve_network
from mezan.problems import NetworkDesignProblem


def random_edges(rng, n, p, *, directed=False, capacity=False, fixed=False):
    edges = []
    pairs = itertools.permutations(range(n), 2) if directed else itertools.combinations(range(n), 2)
    for u, v in pairs:
        if rng.random() < p:
            edges.append((str(u), str(v), float(rng.integers(1, 10)), float(rng.integers(1, 8)) if capacity else None,
                          float(rng.integers(0, 15)) if fixed else 0.0))
    return tuple(edges)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.floats(0.2, 1.0), st.integers(0, 2**32 - 1))
def test_mst_matches_scipy(n, p, seed):
    from scipy.sparse.csgraph import minimum_spanning_tree

    rng = np.random.default_rng(seed)
    edges = random_edges(rng, n, p)
    problem = NetworkDesignProblem("mst", tuple(str(i) for i in range(n)), edges)
    result = solve_network(problem)
    W = np.zeros((n, n))
    for u, v, cost, _, _ in edges:
        W[int(u), int(v)] = cost
    assert result.status == "optimal" and result.objective == pytest.approx(minimum_spanning_tree(W).sum())
    assert result.lower_bound == result.objective


def steiner_optimum(problem):
    import networkx as nx

    graph = nx.Graph()
    for u, v, cost, _, _ in problem.edges:
        if not graph.has_edge(u, v) or graph[u][v]["cost"] > cost:
            graph.add_edge(u, v, cost=cost)
    others = [v for v in problem.nodes if v not in problem.terminals]
    best = None
    for k in range(len(others) + 1):
        for extra in itertools.combinations(others, k):
            sub = graph.subgraph(list(problem.terminals) + list(extra))
            if len(sub) == len(problem.terminals) + k and nx.is_connected(sub):
                cost = nx.minimum_spanning_tree(sub, weight="cost").size(weight="cost")
                best = cost if best is None else min(best, cost)
    return best


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 7), st.integers(0, 2**32 - 1))
def test_steiner_is_within_its_guarantee_of_the_enumerated_optimum(n, seed):
    import networkx as nx

    rng = np.random.default_rng(seed)
    edges = random_edges(rng, n, 0.7)
    terminals = tuple(str(t) for t in rng.choice(n, size=int(rng.integers(2, n + 1)), replace=False))
    problem = NetworkDesignProblem("steiner", tuple(str(i) for i in range(n)), edges, terminals=terminals)
    result = solve_network(problem)
    optimum = steiner_optimum(problem)
    if optimum is None:
        assert result.status == "infeasible" and "not connected" in result.reason
        return
    tree = nx.Graph(result.edges)
    assert set(terminals) <= set(tree.nodes) and nx.is_tree(tree)
    t = len(terminals)
    assert result.objective <= 2 * (1 - 1 / t) * optimum + 1e-9
    assert result.lower_bound <= optimum + 1e-9


def flow_lp(problem):
    """The min-cost flow as an LP (scipy linprog): an independent second formulation."""
    from scipy.optimize import linprog

    nodes = list(problem.nodes)
    if not problem.edges:
        return 0.0 if not any(problem.supply.values()) else None
    A = np.zeros((len(nodes), len(problem.edges)))
    for k, (u, v, _, _, _) in enumerate(problem.edges):
        A[nodes.index(u), k] += 1
        A[nodes.index(v), k] -= 1
    b = [problem.supply.get(v, 0.0) for v in nodes]
    res = linprog([e[2] for e in problem.edges], A_eq=A, b_eq=b, bounds=[(0, e[3]) for e in problem.edges],
                  method="highs")
    return res.fun if res.status == 0 else None


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 7), st.integers(0, 2**32 - 1))
def test_min_cost_flow_matches_an_lp(n, seed):
    rng = np.random.default_rng(seed)
    edges = random_edges(rng, n, 0.5, directed=True, capacity=True)
    amount = float(rng.integers(1, 6))
    problem = NetworkDesignProblem("min_cost_flow", tuple(str(i) for i in range(n)), edges,
                                   supply={"0": amount, str(n - 1): -amount})
    result = solve_network(problem)
    expected = flow_lp(problem)
    if expected is None:
        assert result.status == "infeasible" and "cannot be routed" in result.reason
        return
    assert result.status == "optimal" and result.objective == pytest.approx(expected)
    for u, v, _, capacity, _ in edges:  # one edge per ordered pair here
        assert result.flows.get(f"{u}->{v}", 0.0) <= capacity + 1e-9


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_fixed_charge_design_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    n = 4
    edges = random_edges(rng, n, 0.6, directed=True, capacity=True, fixed=True)[:7]
    amount = float(rng.integers(1, 5))
    problem = NetworkDesignProblem("fixed_charge", tuple(str(i) for i in range(n)), edges,
                                   supply={"0": amount, "3": -amount})
    best = None
    for k in range(len(edges) + 1):
        for subset in itertools.combinations(range(len(edges)), k):
            sub = NetworkDesignProblem("min_cost_flow", problem.nodes, tuple(edges[i] for i in subset),
                                       supply=problem.supply)
            routing = flow_lp(sub)
            if routing is not None:
                total = routing + sum(edges[i][4] for i in subset)
                best = total if best is None else min(best, total)
    result = solve_network(problem)
    if best is None:
        assert result.status == "infeasible"
        return
    assert result.status == "optimal" and result.objective == pytest.approx(best)
    assert result.lower_bound <= result.objective + 1e-6


def test_wire_form_and_a_disconnected_mst():
    data = {"type": "network_design", "task": "mst", "nodes": [{"id": v} for v in "abcd"],
            "edges": [{"from": "a", "to": "b", "cost": 2}, {"from": "c", "to": "d", "cost": 1},
                      {"from": "a", "to": "b", "cost": 1}]}
    problem = NetworkDesignProblem.from_dict(data)
    result = registry.get("graphflow.network").solve(problem, time_limit=1.0)
    assert result.objective == 2.0 and result.edges == [("a", "b"), ("c", "d")] and "forest" in result.explanation
    assert NetworkDesignProblem.from_dict(problem.to_dict()).fingerprint() == problem.fingerprint()


@pytest.mark.parametrize(("data", "message"), [
    ({"task": "tsp", "nodes": [{"id": "a"}], "edges": []}, "task must be one of"),
    ({"task": "mst", "nodes": [{"id": "a"}], "edges": [{"from": "a", "to": "z"}]}, r"edges\[0\].to names unknown"),
    ({"task": "mst", "nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"from": "a", "to": "b", "cost": -1}]},
     r"edges\[0\].cost must be >= 0"),
    ({"task": "min_cost_flow", "nodes": [{"id": "a", "supply": 2}, {"id": "b"}], "edges": []}, "sum to 0"),
    ({"task": "steiner", "nodes": [{"id": "a"}], "edges": []}, "terminals must list"),
    ({"task": "mst", "nodes": [{"id": "a"}, {"id": "a"}], "edges": []}, "used twice"),
    ({"task": "mst", "nodes": "abc", "edges": []}, "nodes must be a list"),
])
def test_bad_network_input_names_the_field(data, message):
    with pytest.raises(InvalidProblemError, match=message):
        NetworkDesignProblem.from_dict({"type": "network_design", **data})
