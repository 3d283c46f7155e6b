"""Load test of the HTTP service on loopback with wrk (Debian's ``wrk``; installed when missing).

A real ``mezan serve`` process (API keys on: every request is authenticated and rate-limited, with a
key whose own rate limit is high enough not to throttle the test, and whose own quota of queued + running
solves covers two solves per connection); each run starts once the server is idle again (wrk drops its
connections mid-request at the end of a run; the server stops those solves, and they would otherwise still
count against the key's quota as the next run starts) answers ``POST /qapflow/solve`` with
nug12 (n = 12) and ``time_limit`` 0.01 from --connections concurrent clients for --duration seconds;
repeated --repeats times. wrk's Lua ``done`` hook prints the latency percentiles and the error counts
(connection errors, timeouts, non-2xx answers). Reported: each run and the median over runs.

With ``--scheduler local`` (or an address) the same load is then run against ``mezan serve --scheduler``: the
solves go to a Dask cluster (``local``: a ``dask scheduler`` and --dask-workers single-thread workers started here)
and both are printed side by side.

    python bench/service_load.py [--connections 16] [--duration 30] [--repeats 3] [--workers 2]
                                 [--scheduler local|ADDRESS] [--dask-workers 2] [--dask-in-flight 4]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
sys.path.insert(0, str(REPO / "bench"))
from local_server import local_server  # noqa: E402

LUA = """
wrk.method = "POST"
wrk.body = [==[%(body)s]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%%d duration_us=%%d p50_us=%%d p95_us=%%d p99_us=%%d max_us=%%d "
    .. "connect=%%d read=%%d write=%%d timeout=%%d status=%%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    summary.errors.status))
end
"""


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True,
                       env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"})
        path = shutil.which("wrk")
    return path


def wait_idle(url: str, timeout: float = 60.0) -> None:
    """Until no solve runs or waits on the server (the previous run's abandoned requests have ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
                health = json.loads(r.read())
        except urllib.error.HTTPError as exc:  # 503 "degraded" still reports the counts
            health = json.loads(exc.read())
        if health["in_flight"] == 0 and health["queue_depth"] == 0:
            return
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="the server's solver threads")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--scheduler", default=None,
                        help="also measure the server on Dask: an address, or 'local' to start a scheduler and "
                             "--dask-workers workers here")
    parser.add_argument("--dask-workers", type=int, default=2)
    parser.add_argument("--dask-in-flight", type=int, default=4,
                        help="the server's --workers on Dask: solves in flight, covering the round trips")
    args = parser.parse_args()
    wrk = ensure_wrk()

    from mezan.qap import instances, read_qaplib

    problem = read_qaplib(instances.instance_path("nug12"))
    body = json.dumps({"A": problem.A.tolist(), "B": problem.B.tolist(), "mode": "auto", "time_limit": 0.01})
    configurations = [(f"local pool, --workers {args.workers}", ["--workers", str(args.workers)])]
    results = {}
    with dask_cluster(args.scheduler, args.dask_workers) as address:
        if address is not None:
            configurations.append((f"dask ({address}), {args.dask_in_flight} in flight",
                                   ["--workers", str(args.dask_in_flight), "--scheduler", address]))
        for label, serve_args in configurations:
            runs = measure(wrk, body, args, serve_args, label)
            med = {k: statistics.median(r[k] for r in runs) for k in ("throughput", "p50_us", "p95_us", "p99_us")}
            results[label] = {"runs": runs, "median": med}
    for label, result in results.items():
        med, runs = result["median"], result["runs"]
        total_errors = sum(r["errors"] for r in runs)
        print(f"\n{label}: POST /qapflow/solve, nug12, time_limit 0.01, {args.connections} connections x "
              f"{args.duration} s, {os.cpu_count()} cores; "
              f"median of {len(runs)} runs:")
        print(f"  throughput {med['throughput']:.1f} req/s, p50 {med['p50_us'] / 1e3:.1f} ms, "
              f"p95 {med['p95_us'] / 1e3:.1f} ms, p99 {med['p99_us'] / 1e3:.1f} ms; errors in all runs: {total_errors}")
        if label.startswith("local pool"):
            met = med["p95_us"] < 100e3 and total_errors == 0
            print(f"  target p95 < 100 ms and zero errors: {'met' if met else 'NOT met'}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "service_load_dask.json" if args.scheduler else "service_load.json"
    (RESULTS / name).write_text(json.dumps({"results": results, "args": vars(args)}, indent=1))


def measure(wrk: str, body: str, args, serve_args: list[str], label: str) -> list[dict]:
    """--repeats wrk runs against a fresh ``mezan serve *serve_args``."""
    from mezan.service.keys import KeyStore
    from mezan.store import Store

    keys: list[str] = []

    def create_key(store: Path) -> None:
        keys.append(KeyStore(Store(store)).create("solve", "load-test", rate_per_minute=1e9,
                                                  quota=2 * args.connections)[0])

    runs = []
    with local_server(*serve_args, prefix="mezan-load-", before_start=create_key) as server:
        url = server.url
        script = server.home / "post.lua"
        script.write_text(LUA % {"body": body, "key": keys[0]})
        subprocess.run([wrk, "-t1", "-c2", "-d3s", "-s", str(script), f"{url}/qapflow/solve"], capture_output=True)
        for k in range(args.repeats):
            wait_idle(url)
            out = subprocess.run([wrk, f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{args.duration}s",
                                  "--timeout", "10s", "-s", str(script), f"{url}/qapflow/solve"],
                                 capture_output=True, text=True, check=True).stdout
            line = next(x for x in out.splitlines() if x.startswith("RESULT"))
            r = {kv.split("=")[0]: int(kv.split("=")[1]) for kv in line.split()[1:]}
            r["throughput"] = r["requests"] / (r["duration_us"] / 1e6)
            r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["status"]
            runs.append(r)
            ms = {q: r[f"{q}_us"] / 1e3 for q in ("p50", "p95", "p99", "max")}
            print(f"{label} run {k + 1}: {r['requests']} requests, {r['throughput']:.1f} req/s, "
                  f"p50 {ms['p50']:.1f} ms, p95 {ms['p95']:.1f} ms, p99 {ms['p99']:.1f} ms, max {ms['max']:.1f} ms, "
                  f"errors {r['errors']} "
                  f"(non-2xx {r['status']}, timeouts {r['timeout']})", flush=True)
    return runs


@contextlib.contextmanager
def dask_cluster(scheduler: str | None, workers: int):
    """None without --scheduler; the address given; or, for ``local``, a ``dask scheduler`` and ``workers``
    single-thread ``dask worker`` processes started on 127.0.0.1 and stopped after."""
    if scheduler is None or scheduler != "local":
        yield scheduler
        return
    from local_server import free_port

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    procs = [subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    procs += [subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              for _ in range(workers)]
    try:
        from mezan.dist import DaskExecutor

        with DaskExecutor(address, timeout=60) as probe:
            probe.client.wait_for_workers(workers, timeout=60)
        yield address
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()


if __name__ == "__main__":
    main()
