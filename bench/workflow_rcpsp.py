"""WorkFlow on generated j30-like RCPSP instances (30 tasks, 4 resources): the heuristic's gap to
CP-SAT's optimum or bound at --time seconds, and CP-SAT's proven-optimal rate.

Instances from mezan.flows.workflow.generate_rcpsp (ProGen-style: resource factor 0.5, resource
strength 0.2 / 0.5 / 0.7 in turn). For each: the heuristic alone (critical-path serial SGS +
forward-backward improvement), then the full solver with --time seconds (heuristic, then CP-SAT on
2 workers). Gap = (heuristic - best bound) / best bound, where the best bound is CP-SAT's optimum
when proven, else its lower bound.

    python bench/workflow_rcpsp.py [--instances 12] [--time 10]
"""

from __future__ import annotations

import argparse
import statistics

from mezan.flows.workflow import generate_rcpsp, solve_workflow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=12)
    parser.add_argument("--time", type=float, default=10.0)
    args = parser.parse_args()
    print(f"{'instance':<16} {'RS':>4} {'LB0':>5} {'heur':>5} {'h s':>6} {'CP-SAT':>7} {'bound':>6} {'status':>8} "
          f"{'s':>6} {'gap %':>6}")
    gaps, optimal, heuristic_times = [], 0, []
    for k in range(args.instances):
        strength = (0.2, 0.5, 0.7)[k % 3]
        problem = generate_rcpsp(30, 4, seed=k, strength=strength)
        heuristic = solve_workflow(problem, time_limit=args.time, method="heuristic")
        exact = solve_workflow(problem, time_limit=args.time)
        optimal += exact.status == "optimal"
        bound = exact.makespan if exact.status == "optimal" else exact.lower_bound
        gap = 100.0 * (heuristic.makespan - bound) / bound
        gaps.append(gap)
        heuristic_times.append(heuristic.wall_time)
        print(f"{problem.name:<16} {strength:>4.1f} {heuristic.lower_bound:>5} {heuristic.makespan:>5} "
              f"{heuristic.wall_time:>6.3f} {exact.makespan:>7} {exact.lower_bound:>6} {exact.status:>8} "
              f"{exact.wall_time:>6.2f} {gap:>6.2f}")
    print(f"\n{args.instances} instances, {args.time:g} s: CP-SAT proved {optimal}/{args.instances} optimal; heuristic "
          f"gap to the optimum/bound: mean {statistics.mean(gaps):.2f} %, median {statistics.median(gaps):.2f} %, "
          f"max {max(gaps):.2f} %; heuristic time median {statistics.median(heuristic_times) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
