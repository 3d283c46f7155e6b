"""GraphFlow: network design with ``solve_network`` — a spanning tree, then a fixed-charge flow network.

``mst``: Kruskal's minimum spanning tree. ``fixed_charge``: ship supply to demand where opening an edge costs
``fixed_cost`` and each unit of flow costs ``cost`` (a MILP on HiGHS; ``lower_bound`` is its dual bound).

Run: python examples/flows/graphflow.py   (a second or two)
"""

from mezan.flows import solve_network
from mezan.problems import NetworkDesignProblem

nodes = [{"id": "plant", "supply": 5}, {"id": "hub"}, {"id": "depot"}, {"id": "city", "supply": -5}]
edges = [{"from": "plant", "to": "hub", "cost": 1, "capacity": 3, "fixed_cost": 15},
         {"from": "hub", "to": "city", "cost": 1, "capacity": 10, "fixed_cost": 15},
         {"from": "plant", "to": "depot", "cost": 2, "capacity": 3, "fixed_cost": 4},
         {"from": "depot", "to": "city", "cost": 2, "capacity": 3, "fixed_cost": 4},
         {"from": "plant", "to": "city", "cost": 6, "capacity": 10, "fixed_cost": 25}]

# 1. Minimum spanning tree on the edges' costs (undirected)
tree = solve_network(NetworkDesignProblem.from_dict({"type": "network_design", "task": "mst",
                                                     "nodes": nodes, "edges": edges}))
print("spanning tree:", tree.edges, "total cost", tree.objective)

# 2. Fixed-charge design: which edges to open, and the flow on each (directed)
res = solve_network(NetworkDesignProblem.from_dict({"type": "network_design", "task": "fixed_charge",
                                                    "nodes": nodes, "edges": edges}), time_limit=10.0)
print(f"\n{'edge':<14} {'flow':>5}")
for edge, flow in res.flows.items():
    print(f"{edge:<14} {flow:>5.1f}")
print(f"open edges {res.edges}; total cost {res.objective} (lower bound {res.lower_bound}), status {res.status}")
