"""WorkFlow: schedule a small project (tasks, precedences, a shared resource, agents) with ``solve_workflow``.

A serial schedule-generation heuristic builds a schedule; OR-Tools CP-SAT then improves it and proves it optimal.
The lower bound is the largest of the critical path, each resource's energy bound and each agent's total work.

Run: python examples/flows/workflow.py   (about a second)
"""

from mezan.flows import solve_workflow
from mezan.problems import WorkflowProblem

# Five tasks; "lab" has capacity 2; agent 0 (one person) does "design" and "write" one after the other.
problem = WorkflowProblem.from_dict({"type": "workflow",
    "tasks": [{"id": "design", "duration": 3, "resources": {"lab": 1}, "agent": 0},
              {"id": "build", "duration": 4, "resources": {"lab": 2}},
              {"id": "measure", "duration": 2, "resources": {"lab": 1}},
              {"id": "write", "duration": 4, "agent": 0},
              {"id": "review", "duration": 1}],
    "precedences": [["design", "build"], ["build", "measure"], ["measure", "review"], ["write", "review"]],
    "resources": {"lab": 2}})

res = solve_workflow(problem, time_limit=5.0)

durations = {task["id"]: task["duration"] for task in problem.to_dict()["tasks"]}
print(f"{'task':<8} {'start':>5} {'end':>5}")
for task, start in sorted(res.start.items(), key=lambda item: item[1]):  # res.start is res.solution
    print(f"{task:<8} {start:>5} {start + durations[task]:>5}")
print(f"makespan {res.makespan} (lower bound {res.lower_bound}), status {res.status}")
print("critical path:", " -> ".join(res.critical_path))
