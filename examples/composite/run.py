"""The original design's composite example (C2SC): three subproblems, each using its parent's result.

1. ``assignment`` (QAP): assign four researchers to the four tasks (``solution[i]`` = researcher of task i);
2. ``scheduling`` (WorkFlow): schedule the tasks, each done by the researcher the QAP chose (``agent``);
3. ``budget`` (AllocFlow): allocate the budget, lab hours capped by the schedule's makespan.

``request.json`` holds the request; references such as ``"$assignment.solution[0]"`` are resolved just before the
dependent subproblem runs. ``mezan.compile`` checks the request and orders it into stages; ``mezan.solve`` runs
it and returns one result per subproblem (each its result record's ``to_dict()``), printed as a table each.

Run: python examples/composite/run.py   (a few seconds)
"""

import json
from pathlib import Path

import mezan

request = json.loads((Path(__file__).parent / "request.json").read_text())
types = {sub["id"]: sub["type"] for sub in request["subproblems"]}

plan = mezan.compile(request)  # validates every subproblem and reference; raises PlanError naming what is wrong
print("stages:", " -> ".join("+".join(stage) for stage in plan.stages))
result = mezan.solve(request, time_limit=5.0, seed=0)
print(f"status: {result.status} ({result.wall_time:.2f} s)")

# the solution's shape depends on the family: a permutation (QAP), start times (WorkFlow), quantities (AllocFlow)
COLUMNS = {"qap": ("task", "researcher"), "workflow": ("task", "start"), "allocation": ("item", "quantity")}

for sid, out in result.results.items():  # every entry has the common fields: solution, objective, status, ...
    print(f"\n[{sid}] {types[sid]} by {out.get('solver')}: {out['status']}, objective {out.get('objective')}")
    solution = out.get("solution")
    if solution is None:  # a failed or skipped subproblem: the reason says why
        print(f"  no solution: {out.get('reason')}")
        continue
    rows = solution.items() if isinstance(solution, dict) else enumerate(solution)
    key, value = COLUMNS.get(types[sid], ("key", "value"))
    print(f"  {key:<10} | {value:>10}")
    print(f"  {'-' * 10}-+-{'-' * 10}")
    for k, v in rows:
        print(f"  {k!s:<10} | {v!s:>10}")
