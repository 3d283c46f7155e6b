"""RoTS iterations per second through the Python API, one thread, and how far that is from this machine's limit.

Taillard-style uniform instances (values 0..99, zero diagonal), symmetric and asymmetric, integer and real
(the same values as floats); n = 100, 200, 500 by default. Start-up (the O(n^3) table initialisation, the
call itself) is taken out: each repeat times a short run of `k` iterations and a long one of `k + N`,
and the rate is N / (t_long - t_short). The median over the repeats is reported with the min and max.

--baseline PYTHON runs the same measurements in another interpreter (another venv, e.g. a build of
main) as a second worker, alternating old and new measurement by measurement so that both see the same
machine load, and prints the ratio new / old per row.

The limit: what the work of one iteration needs on this core, written out per row —
  scan       m(m-1)/2 pairs: read delta + tabu time, ~11 vector ops per 8 pairs (32-bit lanes) or ~14 per
             4 pairs (64-bit lanes: int64, double)
  update     m(m-1)/2 pairs: d += (x_u - x_v)(y_u - y_v), 4 lane-ops (8 asymmetric), read + write d
  recompute  2 n^2 terms (both moved facilities, every k): 4 lane-ops each (8 asymmetric), reading
             A and B permuted (and their transposes if asymmetric) once
against the vector throughput (--ops-per-cycle 256-bit ops per cycle: Zen 3 issues 4 vector ALU ops, 2 of
them multiplies; the default 3 is a blend) at the measured clock, and the bandwidth of the cache level
the working set fits in (L1 64, L2 32, L3 16 bytes/cycle by default). The limit is the slower of the
two; "of limit" is the measured rate over it. The work model is the new kernel's; the old kernel did
the same work with scalar gathers, so its fraction is read against the same limit.

    python bench/rots_speed.py [--sizes 100 200 500] [--iterations 20000] [--repeats 5]
                               [--baseline /work/kernel-base/.venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

KINDS = [("sym", "int"), ("asym", "int"), ("sym", "float"), ("asym", "float")]


def instance(n: int, symmetric: bool, real: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    A, B = rng.integers(0, 100, (n, n)), rng.integers(0, 100, (n, n))
    if symmetric:
        A, B = np.triu(A, 1) + np.triu(A, 1).T, np.triu(B, 1) + np.triu(B, 1).T
    np.fill_diagonal(A, 0)
    np.fill_diagonal(B, 0)
    if real:
        return A.astype(np.float64) * 1.01, B.astype(np.float64)
    return A.astype(np.int64), B.astype(np.int64)


def iterations_for(n: int, base: int) -> int:
    """About the same seconds per row: base iterations at n = 100, scaled by 1/n^2."""
    return max(400, base * 100 * 100 // (n * n))


# ---- the worker: measures in whichever interpreter runs it ----------------------------------------------

_CACHE: dict = {}


def measure(n: int, sym: str, kind: str, iterations: int, seed: int) -> float:
    """Iterations per second of one RoTS run, start-up excluded (difference of a short and a long run)."""
    from mezan.qap import solve

    key = (n, sym, kind)
    if key not in _CACHE:
        _CACHE[key] = instance(n, sym == "sym", kind == "float")
    A, B = _CACHE[key]
    short = max(10, iterations // 10)

    def timed(k: int) -> tuple[float, int]:
        t0 = time.perf_counter()
        res = solve(A, B, method="rots", max_iter=k, time_limit=None, seed=seed, lower_bound=False)
        return time.perf_counter() - t0, res.iterations

    t_short, i_short = timed(short)
    t_long, i_long = timed(short + iterations)
    return (i_long - i_short) / max(t_long - t_short, 1e-9)


def worker() -> None:
    """Answer one JSON request per line on stdin ({"n", "sym", "kind", "iterations", "seed"}) with a rate."""
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("stop"):
            break
        rate = measure(req["n"], req["sym"], req["kind"], req["iterations"], req["seed"])
        print(json.dumps({"rate": rate}), flush=True)


class Worker:
    def __init__(self, python: str):
        self.python = python
        self.proc = subprocess.Popen([python, os.path.abspath(__file__), "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.abspath(__file__)))

    def rate(self, **req) -> float:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker {self.python} died")
        return json.loads(line)["rate"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.write(json.dumps({"stop": True}) + "\n")
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ---- the limit ----------------------------------------------------------------------------------------


def measured_clock_hz() -> float:
    """The core's clock under load: a chain of dependent adds (1 cycle each) timed by the C++ core if it
    offers the hook, else /proc/cpuinfo's figure."""
    try:
        from mezan import _core

        return max(float(_core._testing.measure_clock_hz()) for _ in range(3))  # least disturbed of three
    except (AttributeError, ImportError):
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) * 1e6
    except OSError:
        pass
    return 3.0e9


def limit(n: int, sym: str, kind: str, clock: float, ops_per_cycle: float, caches: list[tuple[str, int, float]]):
    """Cycles per iteration the work needs, the bound that sets them, and the working set's cache level."""
    symmetric = sym == "sym"
    width = 4 if kind == "int" else 8  # the new kernel: int32 lanes for these integer instances (|delta| < 2^28)
    lanes = 32 // width
    pairs = n * (n - 1) / 2
    stride = (n + 14) // 8 * 8
    scan_ops = pairs / lanes * (11 if width == 4 else 14)
    update_ops = pairs / lanes * (4 if symmetric else 8)
    recompute_ops = 2 * n * n / lanes * (4 if symmetric else 8)
    ops = scan_ops + update_ops + recompute_ops
    scan_bytes = pairs * 2 * width
    update_bytes = pairs * 2 * width
    recompute_bytes = n * n * width * (2 if symmetric else 4)
    bytes_ = scan_bytes + update_bytes + recompute_bytes
    matrices = 3 if symmetric else 5  # A, B, BP (+ A^T, BP^T)
    working_set = 2 * n * stride * width + matrices * n * n * width
    level, bandwidth = caches[-1][0], caches[-1][2]
    for name, size, bw in caches:
        if working_set <= size:
            level, bandwidth = name, bw
            break
    compute_cycles = ops / ops_per_cycle
    memory_cycles = bytes_ / bandwidth
    cycles = max(compute_cycles, memory_cycles)
    return {
        "ops": ops, "scan_ops": scan_ops, "update_ops": update_ops, "recompute_ops": recompute_ops,
        "bytes": bytes_, "working_set": working_set, "level": level,
        "bound": "compute" if compute_cycles >= memory_cycles else level,
        "cycles": cycles, "rate": clock / cycles,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 500])
    parser.add_argument("--iterations", type=int, default=20000, help="long-run iterations at n = 100 (scaled 1/n^2)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", metavar="PYTHON", help="another interpreter whose mezan to compare against")
    parser.add_argument("--ops-per-cycle", type=float, default=3.0, help="256-bit vector ops per cycle")
    parser.add_argument("--cache", nargs=3, action="append", metavar=("LEVEL", "BYTES", "BYTES_PER_CYCLE"),
                        help="a cache level (repeatable, smallest first); default L1 32 KiB 64, L2 512 KiB 32, "
                             "L3 32 MiB 16")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    caches = ([(c[0], int(c[1]), float(c[2])) for c in args.cache] if args.cache else
              [("L1", 32 << 10, 64.0), ("L2", 512 << 10, 32.0), ("L3", 32 << 20, 16.0)])
    clock = measured_clock_hz()
    new = Worker(sys.executable)
    old = Worker(args.baseline) if args.baseline else None
    print(f"clock {clock / 1e9:.2f} GHz (measured), {args.ops_per_cycle:g} vector ops/cycle, "
          f"caches {', '.join(f'{c[0]} {c[1] >> 10} KiB {c[2]:g} B/cycle' for c in caches)}")
    print("work per iteration (new kernel): vector ops (scan + update + recompute), bytes, working set")
    head = f"{'n':>4} {'kind':<10} {'median it/s':>12} {'min':>9} {'max':>9}"
    if old:
        head += f" {'old median':>11} {'old min':>9} {'old max':>9} {'ratio':>6}"
    head += f" {'limit it/s':>11} {'bound':>7} {'of limit':>8}" + (f" {'old of':>7}" if old else "")
    head += "   ops/it (scan+upd+rec)  bytes/it  working set"
    print(head)
    try:
        for n in args.sizes:
            for sym, kind in KINDS:
                iterations = iterations_for(n, args.iterations)
                rates, old_rates = [], []
                for r in range(args.repeats):
                    req = dict(n=n, sym=sym, kind=kind, iterations=iterations, seed=r)
                    if old:  # alternate, and alternate which goes first
                        pair = (old, new) if r % 2 == 0 else (new, old)
                        for w in pair:
                            (old_rates if w is old else rates).append(w.rate(**req))
                    else:
                        rates.append(new.rate(**req))
                lim = limit(n, sym, kind, clock, args.ops_per_cycle, caches)
                med = statistics.median(rates)
                line = f"{n:>4} {sym + ' ' + kind:<10} {med:>12,.0f} {min(rates):>9,.0f} {max(rates):>9,.0f}"
                if old:
                    old_med = statistics.median(old_rates)
                    line += (f" {old_med:>11,.0f} {min(old_rates):>9,.0f} {max(old_rates):>9,.0f}"
                             f" {med / old_med:>5.2f}x")
                line += f" {lim['rate']:>11,.0f} {lim['bound']:>7} {med / lim['rate']:>7.0%}"
                if old:
                    line += f" {statistics.median(old_rates) / lim['rate']:>7.1%}"
                line += (f"   {lim['ops'] / 1e3:5.1f}k ({lim['scan_ops'] / 1e3:.1f}+{lim['update_ops'] / 1e3:.1f}+"
                         f"{lim['recompute_ops'] / 1e3:.1f}k) {lim['bytes'] / 1e3:7.0f} kB"
                         f" {lim['working_set'] / 1024:7.0f} KiB {lim['level']}")
                print(line, flush=True)
    finally:
        new.close()
        if old:
            old.close()


if __name__ == "__main__":
    main()
