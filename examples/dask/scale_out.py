"""Scale-out on Dask: independent solves and an islands solve on a LocalCluster of 2 worker processes.

``mezan.dist`` has one executor interface for this machine's threads (``LocalExecutor``) and Dask clusters
(``DaskExecutor``): ``submit`` returns a task, ``as_completed`` yields them as they finish. Problems travel to the
workers as their wire forms and results come back as result records. Against a real cluster, replace
``DaskExecutor(local_cluster=2)`` by ``DaskExecutor("tcp://scheduler:8786")``.

The ``if __name__ == "__main__":`` guard is required: the cluster's worker processes import this module.
Run: python examples/dask/scale_out.py   (about 10 seconds: starting the cluster takes a few)
"""

import textwrap
import time

from mezan.dist import DaskExecutor
from mezan.qap import generate, solve


def main():
    problem = generate.taillard_a(40, seed=1)  # a generated instance (uniform random flows and distances), n = 40
    started = time.monotonic()
    with DaskExecutor(local_cluster=2) as executor:  # a LocalCluster: 2 single-thread worker processes
        print(f"cluster up in {time.monotonic() - started:.1f} s: {executor.describe()}")

        # 1. Four independent 0.5 s solves with different seeds, two at a time; keep the best.
        tasks = [executor.submit(solve, problem, None, time_limit=0.5, seed=s) for s in range(4)]
        results = [task.result() for task in executor.as_completed(tasks)]
        for r in sorted(results, key=lambda r: r.seed):
            print(f"  seed {r.seed}: objective {r.objective} ({r.method}, {r.wall_time:.2f} s on a worker)")
        best = min(results, key=lambda r: r.objective)

        # 2. One islands solve: a search per worker thread, elites migrating along a ring between rounds.
        islands = solve(problem, None, mode="islands", time_limit=2.0, seed=1, executor=executor)
    print(f"best of 4 independent solves: {best.objective}; islands: {islands.objective} ({islands.status})")
    print(textwrap.fill(islands.explanation, 110, initial_indent="  ", subsequent_indent="  ",
                        break_on_hyphens=False))


if __name__ == "__main__":
    main()
