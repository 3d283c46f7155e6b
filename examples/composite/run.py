"""The original design's composite example: assign researchers to tasks (QAP), schedule the workflow
with that assignment (each task's agent is the researcher the QAP chose), then allocate the budget
using the schedule (lab hours up to the makespan). Run: python examples/composite/run.py"""

import json
from pathlib import Path

import mezan

request = json.loads((Path(__file__).parent / "request.json").read_text())
plan = mezan.compile(request)
print("stages:", plan.stages)
result = mezan.solve(request, time_limit=5.0, seed=0)
print("status:", result.status, f"({result.wall_time:.2f} s)")
for sid, out in result.results.items():
    keys = {"assignment": ("solution", "objective"), "scheduling": ("start", "makespan"),
            "budget": ("allocation", "objective")}[sid]
    print(f"{sid}: {out['status']}, " + ", ".join(f"{k} = {out[k]}" for k in keys))
