"""DualFlow: robust and adversarial optimisation — the best decision against the worst scenario.

- a robust assignment: one assignment of workers to jobs, good whichever of two cost scenarios happens;
- a robust allocation: a budget split that holds up when one item's value drops, and the price of robustness;
- a matrix game: both players' optimal mixed strategies and the game's value.

Run: python examples/flows/dualflow.py   (a second or two: HiGHS runs in a worker process)
"""

from mezan.flows import solve_matrix_game, solve_robust_allocation, solve_robust_assignment
from mezan.problems import MatrixGameProblem, RobustAllocationProblem, RobustAssignmentProblem

# 1. Two scenarios of a 2 x 2 cost matrix (worker i does job p[i]); scenario 0 is the nominal one. The nominal
#    optimum (each worker on its own job, cost 2) costs 18 in scenario 1; swapping costs 10 in both.
assignment = solve_robust_assignment(RobustAssignmentProblem.from_dict(
    {"type": "robust_assignment", "costs": [[[1, 5], [5, 1]], [[9, 5], [5, 9]]], "nominal": 0}))
print(f"robust assignment {[int(job) for job in assignment.solution]}: worst-case cost {assignment.objective} "
      f"(scenario {assignment.worst_scenario}; per scenario {assignment.scenario_values})")
print(f"  nominal optimum {assignment.nominal_optimum}, price of robustness {assignment.price_of_robustness}")

# 2. Stocks pay 3 per unit and bonds 1, unless the second scenario happens: then stocks lose 1 per unit
#    (a scenario lists the per-unit values that differ from the items' "value").
allocation = solve_robust_allocation(RobustAllocationProblem.from_dict(
    {"type": "robust_allocation", "budget": 10,
     "items": [{"id": "stocks", "cost": 1, "value": 3, "max": 10}, {"id": "bonds", "cost": 1, "value": 1, "max": 10}],
     "scenarios": [{}, {"stocks": -1}], "nominal": 0}))
print(f"\nrobust allocation {allocation.solution}: worst-case value {allocation.objective}")
print(f"  nominal optimum {allocation.nominal_optimum}, price of robustness {allocation.price_of_robustness}")

# 3. Rock-paper-scissors: the row player's payoffs; the value of a fair game is 0.
game = solve_matrix_game(MatrixGameProblem.from_dict(
    {"type": "matrix_game", "payoff": [[0, -1, 1], [1, 0, -1], [-1, 1, 0]]}))
print(f"\nrock-paper-scissors: row strategy {[round(float(x), 3) for x in game.row_strategy]}, "
      f"column strategy {[round(float(x), 3) for x in game.column_strategy]}, value {game.value:.3f}")
