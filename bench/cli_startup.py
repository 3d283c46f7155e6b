"""How long ``mezan --help`` (and ``mezan --version``) takes: the CLI's start-up, which every command pays.

    python bench/cli_startup.py [--repeats 15] [--python PATH ...]

Runs each command as a new process, one after the other, and prints the minimum and median wall time and the
median CPU time (user + system) per interpreter. ``--python`` adds another environment's interpreter (e.g. an
install of an earlier commit) to compare in the same run; the target is a median wall time of at most 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = (["--help"], ["--version"], ["solve", "--help"])


def measure(python: str, args: list[str], repeats: int) -> tuple[float, float, float] | None:
    """(min wall, median wall, median CPU) seconds of ``python -m mezan.cli ARGS`` over ``repeats`` runs; None when
    that install does not have the command (an earlier version without ``--version``)."""
    walls, cpus = [], []
    env = {**os.environ, "COLUMNS": "100"}
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        if subprocess.run([python, "-m", "mezan.cli", *args], capture_output=True, env=env).returncode != 0:
            return None
        walls.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return min(walls), statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--python", action="append", default=[], help="another interpreter to time (repeatable)")
    args = parser.parse_args()
    pythons = [sys.executable, *args.python]
    print(f"{'interpreter':<40} {'command':<16} {'min wall':>9} {'median wall':>12} {'median CPU':>11}")
    for command in COMMANDS:
        for python in pythons:
            timing = measure(python, command, args.repeats)
            if timing is None:
                print(f"{python[-40:]:<40} {' '.join(command):<16} {'(no such command)':>34}")
                continue
            low, median, cpu = timing
            print(f"{python[-40:]:<40} {' '.join(command):<16} {low:>8.3f}s {median:>11.3f}s {cpu:>10.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
