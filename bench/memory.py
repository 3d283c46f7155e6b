"""Peak memory of a QAP solve at n = 1,000 (default): RSS high-water mark during the solve.

The kernel's peak-RSS counter (VmHWM) is reset just before the solve (Linux: write 5 to
/proc/self/clear_refs), so instance generation does not count; the increase over the RSS before
the solve is what the solve itself needed (inputs copied to the core, transposes, delta and tabu
tables).

    python bench/memory.py [--n 1000] [--time 3] [--asymmetric]
"""

from __future__ import annotations

import argparse

import numpy as np

from mezan.qap import solve


def status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--time", type=float, default=3.0)
    parser.add_argument("--asymmetric", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    A, B = rng.integers(0, 100, (args.n, args.n)), rng.integers(0, 100, (args.n, args.n))
    if not args.asymmetric:
        A, B = A + A.T, B + B.T
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status_kib("VmRSS")
    result = solve(A, B, method="rots", time_limit=args.time, seed=0)
    peak = status_kib("VmHWM")
    kind = "asymmetric" if args.asymmetric else "symmetric"
    print(f"n = {args.n} ({kind}), {result.iterations} RoTS iterations in {result.wall_time:.2f} s, "
          f"objective {result.objective}")
    print(f"RSS before solve {before / 1024:.1f} MiB, peak during solve {peak / 1024:.1f} MiB, "
          f"solve needed {(peak - before) / 1024:.1f} MiB (target < 100 MB)")


if __name__ == "__main__":
    main()
