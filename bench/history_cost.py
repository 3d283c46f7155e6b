"""Does a solve's cost grow with the history? ``mezan.solve`` per-solve time at 10, 1,000 and 10,000 history rows, and
``/mezan/solve`` throughput at the largest history next to ``/qapflow/solve``'s, in the same run.

A store is filled with N rows as real use leaves them: QAP instances (n = 5..9, random, ``N // 5`` distinct ones),
each row a recorded solve by one of MetaFlow's candidates (features computed for real, objectives of random
permutations), then clustered and rated (``MetaFlow.fit_clusters``: the re-clustering a growing history triggers) and
folded into MetaFlow's running tallies (as recording the solves one by one leaves them; a store written by an older
MEZAN is folded in once, by its first solve).
Then, in a fresh process on that store:

- ``first``: the first ``mezan.solve`` of a 3x3 QAP, time limit 0.05 s (in a fresh process, as ``mezan solve`` on
  the command line is);
- ``later``: the median of the next ``--repeats`` solves (each a new 3x3 QAP, recorded as usual).

The service part starts ``mezan serve`` on the largest store (loopback) and sends ``--requests`` solves of a 3x3 QAP
from two client threads to ``/mezan/solve`` and to ``/qapflow/solve``: requests per second and the median latency.
Target (issue 34): ``later`` at 10,000 rows at most 1.2x its value at 10.

    python bench/history_cost.py [--rows 10,1000,10000] [--repeats 15] [--requests 200] [--no-service]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from local_server import local_server  # noqa: E402

TIME_LIMIT = 0.05  # per solve: short, so that what is measured is MEZAN's own cost around the solver
SOLVERS = ("qap.rots", "qap.anneal", "qapflow.fft", "qapflow.enhanced", "qap.bnb")


def fill(path: Path, rows: int, seed: int = 0) -> None:
    """A store at ``path`` with ``rows`` recorded QAP solves (see the module docstring)."""
    from mezan.meta import MetaFlow
    from mezan.meta.features import FEATURE_COST, features
    from mezan.problems import QAPProblem
    from mezan.store import Store

    rng = np.random.default_rng(seed)
    store = Store(path)
    distinct = max(1, rows // 5)
    problems = []
    for _ in range(distinct):
        n = int(rng.integers(5, 10))
        problem = QAPProblem(rng.integers(0, 20, (n, n)), rng.integers(0, 20, (n, n)))
        problems.append((problem, problem.fingerprint(), {**features(problem), FEATURE_COST: 0.001}))
    for k in range(rows):
        problem, key, feats = problems[k % distinct]
        p = rng.permutation(problem.n)
        objective = float(np.sum(problem.A * problem.B[np.ix_(p, p)]))
        store.append_solve(fingerprint=key, problem_type="qap", features=feats, solver=str(rng.choice(SOLVERS)),
                           time_limit=1.0, objective=objective, lower_bound=None, best_known=None,
                           wall_time=float(rng.uniform(0.01, 1.0)), seed=k, status="timeout")
    flow = MetaFlow(store, seed=0)
    if distinct >= 4:
        flow.fit_clusters("qap")
    flow.arms("qap", None)  # MetaFlow's tallies, as recording solves one by one leaves them (mezan.meta.tallies)


def child(repeats: int) -> None:
    """In a fresh process on $MEZAN_HOME's store: the first solve's seconds, then each later one's (JSON)."""
    began = time.perf_counter()
    import mezan
    from mezan.problems import QAPProblem

    imported = time.perf_counter() - began
    rng = np.random.default_rng(1)
    times = []
    for _ in range(1 + repeats):
        A, B = rng.integers(0, 9, (2, 3, 3))
        started = time.perf_counter()
        mezan.solve(QAPProblem(A, B), time_limit=TIME_LIMIT, seed=0)
        times.append(time.perf_counter() - started)
    print(json.dumps({"import": imported, "first": times[0], "later": times[1:]}))


def measure(rows: int, repeats: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix="mezan-history-"))
    began = time.perf_counter()
    fill(home / "mezan.db", rows)
    filled = time.perf_counter() - began
    out = subprocess.run([sys.executable, __file__, "--child", "--repeats", str(repeats)], capture_output=True,
                         text=True, env=os.environ | {"MEZAN_HOME": str(home)}, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"rows": rows, "fill_seconds": filled, "first": result["first"],
            "later_median": statistics.median(result["later"]), "later_max": max(result["later"]), "home": str(home)}


def throughput(url: str, route: str, body: dict, requests: int, key: str) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    data = json.dumps(body).encode()

    def client(count: int) -> None:
        for _ in range(count):
            request = urllib.request.Request(f"{url}{route}", data=data, method="POST", headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {key}"})
            started = time.perf_counter()
            try:
                urllib.request.urlopen(request, timeout=60).read()
            except OSError:
                with lock:
                    errors[0] += 1
            with lock:
                latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(requests // 2,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return {"route": route, "requests": len(latencies), "errors": errors[0], "per_second": len(latencies) / wall,
            "median_ms": 1000 * statistics.median(latencies)}


def service(rows: int, requests: int) -> list[dict]:
    from mezan.service.keys import KeyStore
    from mezan.store import Store

    keys: list[str] = []

    def prepare(store: Path) -> None:
        fill(store, rows)
        keys.append(KeyStore(Store(store)).create("solve", "history-cost", rate_per_minute=1e9, quota=10 * requests)[0])

    A = [[0, 2, 3], [2, 0, 1], [3, 1, 0]]
    B = [[0, 5, 1], [5, 0, 2], [1, 2, 0]]
    with local_server(prefix="mezan-history-serve-", before_start=prepare) as server:
        out = []
        for route, body in (("/qapflow/solve", {"A": A, "B": B, "time_limit": TIME_LIMIT, "seed": 0}),
                            ("/mezan/solve", {"type": "qap", "A": A, "B": B, "time_limit": TIME_LIMIT, "seed": 0})):
            throughput(server.url, route, body, 10, keys[0])  # warm-up
            out.append(throughput(server.url, route, body, requests, keys[0]))
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="10,1000,10000")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-service", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.repeats)
        return 0
    sizes = [int(x) for x in args.rows.split(",")]
    report: dict = {"solve": [], "service": []}
    print(f"{'rows':>7s} {'first solve':>12s} {'later median':>13s} {'later max':>10s}")
    for rows in sizes:
        m = measure(rows, args.repeats)
        report["solve"].append(m)
        print(f"{rows:7d} {m['first']:12.3f} {m['later_median']:13.3f} {m['later_max']:10.3f}", flush=True)
    base, top = report["solve"][0], report["solve"][-1]
    report["ratio_later"] = top["later_median"] / base["later_median"]
    report["ratio_first"] = top["first"] / base["first"]
    print(f"ratio {sizes[-1]} / {sizes[0]} rows: later {report['ratio_later']:.2f}x, "
          f"first {report['ratio_first']:.2f}x")
    if not args.no_service:
        for r in service(sizes[-1], args.requests):
            report["service"].append(r)
            print(f"{r['route']:15s} at {sizes[-1]} rows: {r['per_second']:.1f} requests/s, median "
                  f"{r['median_ms']:.1f} ms, errors {r['errors']}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
