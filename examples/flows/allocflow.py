"""AllocFlow: split a budget between items with ``solve_allocation`` (HiGHS), and a 0/1 knapsack.

Maximises the total value of the items' quantities under two budgets (cash and staff), bounds, integrality and
one concave utility (diminishing returns). A pure LP also reports the shadow price (dual) of every budget.

Run: python examples/flows/allocflow.py   (a second or two: HiGHS runs in a worker process)
"""

from mezan.flows import knapsack, solve_allocation
from mezan.problems import AllocationProblem

problem = AllocationProblem.from_dict({"type": "allocation",
    "budgets": {"cash": 100_000, "staff": 12},
    "items": [
        {"id": "servers", "cost": {"cash": 8_000, "staff": 1}, "value": 5, "max": 8, "integer": True},
        {"id": "training", "cost": {"cash": 2_000, "staff": 2}, "value": 3, "max": 4},
        # diminishing returns: the first 2 units of marketing are worth 10, the next 3 only 4 more
        {"id": "marketing", "cost": {"cash": 10_000, "staff": 0.5}, "utility": [[0, 0], [2, 10], [5, 14]]}]})

res = solve_allocation(problem, time_limit=10.0)
print(f"{'item':<10} {'quantity':>8}")
for item, quantity in res.allocation.items():  # res.allocation is res.solution
    print(f"{item:<10} {quantity:>8.2f}")
print(f"total value {res.objective:.2f}, status {res.status} ({res.explanation})")

# The same problem without integrality is an LP: its duals price one more unit of each budget.
relaxed = problem.to_dict()
relaxed["items"][0]["integer"] = False
lp = solve_allocation(AllocationProblem.from_dict(relaxed), time_limit=10.0)
print(f"LP relaxation: value {lp.objective:.2f}; value of one more unit of budget:",
      ", ".join(f"{name} {price:.3g}" for name, price in lp.duals.items()))

# A 0/1 knapsack (values, weights, capacity) returns the same result record.
print("knapsack([6, 10, 12], [1, 2, 3], 5):", knapsack([6, 10, 12], [1, 2, 3], 5).objective)
