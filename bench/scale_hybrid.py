"""Scale: the hybrid mode on a generated n = 2,000 instance (default) — wall time and peak memory.

    python bench/scale_hybrid.py [--n 2000] [--time 55]

Reports the wall time of the whole solve (instance conversion, FAQ phase, RoTS, bound skipped) and
the process's peak RSS (VmHWM), which includes the interpreter and the caller's matrices.
"""

from __future__ import annotations

import argparse
import time

from mezan.qap import generate, solve


def status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--time", type=float, default=55.0)
    args = parser.parse_args()
    problem = generate.taillard_a(args.n, seed=0)
    start = time.perf_counter()
    result = solve(problem, None, mode="hybrid", time_limit=args.time, seed=0, lower_bound=False)
    wall = time.perf_counter() - start
    first = result.trace[0] if result.trace else (None, None)
    print(f"n = {args.n}, hybrid, time limit {args.time:g} s: wall {wall:.1f} s, status {result.status}, "
          f"{result.iterations} iterations, objective {result.objective} (first incumbent {first[1]} "
          f"at {first[0]:.1f} s), peak RSS {status_mib('VmHWM'):.0f} MiB")


if __name__ == "__main__":
    main()
