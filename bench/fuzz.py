"""Hostile-input fuzzing of the library entry points and of every HTTP route.

Generates --cases hostile inputs (default 10,000: half through the library, half through a real
``mezan serve`` on 127.0.0.1) from one seed and reports what must all be zero:

- crashes: a library call that kills its process (it runs in a worker process that is restarted after
  a crash, so one crash does not end the run) or a server process that dies;
- 5xx responses from the server;
- hangs: a call or request not answered within its time limit + GRACE seconds;
- lost workers: the server's /health not ready, or fewer solver workers alive than it started with;
- unexpected exceptions: a library call raising anything but a ``mezan.errors.MezanError``;
- invalid results: a QAP/EvoFlow result whose permutation is not one, or whose objective differs
  from the recomputed one;

and the slowest refusal (a library error or a 4xx), the number of each outcome and the wall time.

Library cases: ``mezan.qap.solve`` for every method and mode, ``quadratic_assignment``, ``evolve``
(QAP, TSP, linear ordering), the flow solvers through their wire forms, composite requests through
``mezan.solve``. Values: extreme finite numbers (±1e308, 1e300, 2**62, 1e-308), NaN/inf, empty, 1-D,
3-D, ragged and non-square shapes, strings, booleans, wrong option types, out-of-range seeds,
permutations and partial matches, references to missing or wrong-typed fields.
Route cases: the same bodies as JSON on every solve route and on /jobs (create, read, cancel), plus raw
bodies (NaN literals, truncated JSON, non-UTF-8, deep nesting, wrong content types).

    python bench/fuzz.py [--cases 10000] [--seed 0] [--only library|service]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import select
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from local_server import local_server  # noqa: E402

GRACE = 10.0        # seconds beyond a case's time limit before it counts as a hang
TIME_LIMIT = 0.05   # the time limit the valid-looking cases ask for

EXTREMES = [1e308, -1e308, 1e300, 1e200, 1e150, 2**62, -(2**62), 2**63, 1e-308, 5e-324, 0.0, 1.0, -1.0, 1e12,
            1e13, 1e15, 3.5]
NON_FINITE = [math.nan, math.inf, -math.inf]
WEIRD = ["1", "", "x", None, True, False, [], {}, [1, 2], {"a": 1}]
QAP_METHODS = ("rots", "anneal", "local", "local_first", "faq", "bnb", "memetic", "iterated", "hybrid", "nesterov",
               "fft")
QAP_MODES = ("hybrid", "nesterov", "fft", "aggressive", "enhanced", "instance_adaptive", "auto")


# ---- generators (pure functions of a random.Random) ---------------------------------------------------------------
def number(rng: random.Random, finite: bool = False) -> object:
    r = rng.random()
    if r < 0.45:
        return rng.choice(EXTREMES)
    if r < 0.75 or finite:
        return rng.uniform(-100, 100) if rng.random() < 0.5 else rng.randint(-5, 50)
    if r < 0.9:
        return rng.choice(NON_FINITE)
    return rng.choice(WEIRD)


def matrix(rng: random.Random, n: int | None = None) -> object:
    """A mostly square matrix of hostile numbers, sometimes a malformed one."""
    r = rng.random()
    if r < 0.08:
        return rng.choice([[], [[]], [1, 2, 3], [[[1]]], "A", None, 3, [[1, 2], [3]], [[1, 2, 3], [4, 5, 6]]])
    n = n if n is not None else rng.choice([0, 1, 2, 2, 3, 4, 5, 6, 8, 12])
    scale = rng.choice(EXTREMES) if rng.random() < 0.4 else rng.choice([1, 1.0, 10.0, 100.0, 0.5])
    rows = [[rng.randint(0, 9) * scale for _ in range(n)] for _ in range(n)]
    if rows and rng.random() < 0.3:  # one planted hostile entry
        rows[rng.randrange(n)][rng.randrange(n)] = number(rng)
    if rng.random() < 0.05 and rows:
        rows[0] = rows[0][:-1]  # ragged
    return rows


def option(rng: random.Random, good: object) -> object:
    """Usually a good value, sometimes a hostile one."""
    return good if rng.random() < 0.85 else rng.choice([*WEIRD, *EXTREMES, *NON_FINITE, -1, 0, 2**63, 2**64])


def wire_problem(rng: random.Random) -> dict:
    """A wire-form problem of a random type with hostile values in random fields."""
    kind = rng.choice(["qap", "workflow", "allocation", "network_design", "robust_assignment", "robust_qap",
                       "robust_allocation", "matrix_game", "composite", rng.choice([*WEIRD, "nope"])])
    n = rng.choice([1, 2, 3, 4])
    if kind == "qap":
        return {"type": "qap", "A": matrix(rng), "B": matrix(rng)}
    if kind == "workflow":
        tasks = [{"id": option(rng, f"t{i}"), "duration": option(rng, rng.randint(1, 5)),
                  "resources": option(rng, {"r": rng.randint(0, 2)})} for i in range(n)]
        return {"type": "workflow", "tasks": tasks, "precedences": option(rng, [["t0", "t1"]] if n > 1 else []),
                "resources": option(rng, {"r": option(rng, 2)})}
    if kind in ("allocation", "robust_allocation"):
        items = [{"id": f"i{i}", "cost": option(rng, number(rng, finite=True)), "value": number(rng),
                  "max": option(rng, 10), "integer": option(rng, rng.random() < 0.5)} for i in range(n)]
        out = {"type": kind, "items": items, "budget": number(rng)}
        if kind == "robust_allocation":
            out["scenarios"] = option(rng, [{"i0": number(rng)}, {}])
        return out
    if kind == "network_design":
        nodes = [{"id": str(i), "supply": option(rng, 0)} for i in range(n + 1)]
        nodes[0]["supply"], nodes[-1]["supply"] = (s := number(rng)), (-s if isinstance(s, (int, float)) else s)
        edges = [{"from": str(i), "to": str(i + 1), "cost": number(rng), "capacity": option(rng, None),
                  "fixed_cost": option(rng, 1.0)} for i in range(n)]
        return {"type": "network_design", "task": option(rng, rng.choice(["mst", "steiner", "min_cost_flow",
                                                                          "fixed_charge"])),
                "nodes": nodes, "edges": edges, "terminals": option(rng, ["0", str(n)])}
    if kind == "robust_assignment":
        return {"type": kind, "costs": [matrix(rng, n + 1) for _ in range(rng.randint(0, 2))],
                "nominal": option(rng, 0)}
    if kind == "robust_qap":
        return {"type": kind, "flows": [matrix(rng, n + 1)], "distances": [matrix(rng, n + 1)]}
    if kind == "matrix_game":
        return {"type": kind, "payoff": matrix(rng)}
    if kind == "composite":
        return composite(rng)
    return {"type": kind}


def composite(rng: random.Random) -> dict:
    first = {"type": "qap", "id": "a", "A": matrix(rng, 3), "B": matrix(rng, 3)}
    reference = rng.choice(["$a.solution", "$a.solution[0]", "$a.objective", "$a.objective[3]", "$a.solution.x",
                            "$a.missing", "$b.solution", "$a.permutation[99]", "$a.status", "$zz.objective"])
    second = {"type": rng.choice(["qap", "matrix_game", "robust_assignment"]), "id": option(rng, "b"),
              "depends_on": option(rng, "a"), "payoff": [[reference, 1], [0, 1]], "A": reference,
              "B": [[0, 1], [1, 0]], "costs": [[[reference, 1], [1, 0]]], "time_limit": option(rng, TIME_LIMIT)}
    return {"type": "composite", "subproblems": option(rng, [first, second])}


# ---- the library worker ---------------------------------------------------------------------------------------------
def library_case(rng: random.Random) -> tuple[str, object]:
    """(what, call) for one hostile library call; call() returns (kind, result) for checking."""
    import mezan
    from mezan import qap
    from mezan.evo import QAP, TSP, LinearOrdering, evolve

    what = rng.choice(["qap.solve", "qap.solve", "quadratic_assignment", "evolve", "flow", "flow", "composite"])
    if what == "qap.solve":
        n = rng.choice([2, 3, 5, 8, 12, 20])
        A, B = matrix(rng, n if rng.random() < 0.8 else None), matrix(rng, n if rng.random() < 0.8 else None)
        kwargs: dict = {"time_limit": option(rng, TIME_LIMIT), "seed": option(rng, rng.randint(0, 10))}
        if rng.random() < 0.5:
            kwargs["method"] = option(rng, rng.choice(QAP_METHODS))
        else:
            kwargs["mode"] = option(rng, rng.choice(QAP_MODES))
        if rng.random() < 0.2:
            kwargs["threads"] = option(rng, 2)
        if rng.random() < 0.2:
            kwargs["max_iter"] = option(rng, 100)
        if rng.random() < 0.15:
            kwargs["partial_match"] = rng.choice([[[0, 1]], [[0, 99]], [[0, 0], [1, 0]], [[-1, 0]], "x", [[0.5, 1]]])
        if rng.random() < 0.15:
            kwargs["P0"] = rng.choice([list(range(n)), list(range(n))[::-1], [0] * n, [0, 1], "x", None])
        if rng.random() < 0.1:
            kwargs["target"] = option(rng, 0.0)
        if "time_limit" in kwargs and not (isinstance(kwargs["time_limit"], (int, float))
                                           and 0 < kwargs["time_limit"] < 1):
            kwargs.setdefault("max_iter", 200)
        return what, lambda: ("qap", (A, B, qap.solve(A, B, **kwargs)))
    if what == "quadratic_assignment":
        A, B = matrix(rng), matrix(rng)
        method = option(rng, rng.choice(["faq", "2opt", "rots", "anneal", "local"]))
        options = {"rng": option(rng, 1)}
        if method in ("faq", "rots", "anneal", "local"):
            options["maxiter"] = option(rng, 50)
        if method in ("rots", "anneal", "local"):
            options["time_limit"] = TIME_LIMIT
        if rng.random() < 0.3:
            options["maximize"] = option(rng, True)
        return what, lambda: ("qap_scipy", (A, B, qap.quadratic_assignment(A, B, method=method, options=options)))
    if what == "evolve":
        kind = rng.choice(["qap", "tsp", "lo"])
        M1, M2 = matrix(rng), matrix(rng)
        kwargs = {"time_limit": option(rng, TIME_LIMIT), "seed": option(rng, 1),
                  "population": option(rng, 16), "local_search": option(rng, False)}
        if not (isinstance(kwargs["time_limit"], (int, float)) and 0 < kwargs["time_limit"] < 1):
            kwargs["generations"] = 5

        def run_evolve():
            problem = {"qap": lambda: QAP(M1, M2), "tsp": lambda: TSP(M1), "lo": lambda: LinearOrdering(M1)}[kind]()
            return "evo", (problem, evolve(problem, **kwargs))
        return what, run_evolve
    if what == "composite":
        request = composite(rng)
        return what, lambda: ("any", mezan.solve(request, time_limit=TIME_LIMIT))
    body = wire_problem(rng)
    return "flow:" + str(body.get("type")), lambda: ("any", mezan.solve(body, time_limit=TIME_LIMIT, record=False))


def check(kind: str, value: object) -> str | None:
    """None if a returned result is valid, else what is wrong with it."""
    import numpy as np

    if kind in ("qap", "qap_scipy"):
        A, B, r = value
        p = np.asarray(r.permutation if kind == "qap" else r.col_ind)
        n = np.asarray(A).shape[0]
        if sorted(p.tolist()) != list(range(n)):
            return f"not a permutation: {p.tolist()}"
        from mezan.qap import objective

        fun = r.objective if kind == "qap" else r.fun
        maximize = False
        if kind == "qap_scipy":
            maximize = bool(np.sign(fun) != np.sign(objective(A, B, p))) and fun != 0
        recomputed = objective(A, B, p)
        if not math.isfinite(fun) or (not maximize and abs(recomputed - fun) > 1e-6 * max(1.0, abs(fun))):
            return f"objective {fun} != recomputed {recomputed}"
        return None
    if kind == "evo":
        problem, r = value
        if sorted(np.asarray(r.best).tolist()) != list(range(problem.n)):
            return "not a permutation"
        return None if math.isfinite(r.fitness) else f"fitness {r.fitness}"
    return None


def library_worker(seed: int, start: int, count: int) -> None:
    """Run cases start..start+count-1, printing one JSON line per case (flushed before and after each call)."""
    import logging

    os.environ["MEZAN_HOME"] = tempfile.mkdtemp(prefix="mezan-fuzz-library-")
    from mezan.errors import MezanError

    logging.disable(logging.CRITICAL)
    for index in range(start, start + count):
        rng = random.Random(f"{seed}:{index}")
        what, call = library_case(rng)
        print(json.dumps({"case": index, "what": what, "event": "start"}), flush=True)
        t0 = time.perf_counter()
        try:
            kind, value = call()
            problem = check(kind, value)
            outcome = "ok" if problem is None else "invalid"
            detail = problem
        except MezanError as exc:
            outcome, detail = "refused", f"{type(exc).__name__}: {str(exc)[:200]}"
        except Exception as exc:
            outcome, detail = "unexpected", f"{type(exc).__name__}: {str(exc)[:300]}"
        print(json.dumps({"case": index, "what": what, "event": "end", "outcome": outcome, "detail": detail,
                          "seconds": time.perf_counter() - t0}), flush=True)


def run_library(seed: int, count: int) -> dict:
    """Run the library cases in a worker process, restarting it after a crash or a hang."""
    stats = {"cases": 0, "crashes": 0, "hangs": 0, "unexpected": 0, "invalid": 0, "ok": 0, "refused": 0,
             "slowest_refusal": 0.0, "slowest_refusal_case": None, "examples": []}
    next_case = 0
    while next_case < count:
        proc = subprocess.Popen([sys.executable, __file__, "--library-worker", str(seed), str(next_case),
                                 str(count - next_case)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True, bufsize=1)
        current, started = None, time.perf_counter()
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if not ready:
                if current is not None and time.perf_counter() - started > 1.0 + GRACE:
                    stats["hangs"] += 1
                    stats["examples"].append({"case": current, "outcome": "hang"})
                    proc.kill()
                    next_case = current + 1
                    current = None
                    break
                continue
            line = proc.stdout.readline()
            if not line:  # the worker ended: done, or crashed in the middle of `current`
                proc.wait()
                if current is not None:
                    stats["crashes"] += 1
                    stats["examples"].append({"case": current, "outcome": f"crash (exit code {proc.returncode})"})
                    next_case = current + 1
                else:
                    next_case = count
                break
            event = json.loads(line)
            if event["event"] == "start":
                current, started = event["case"], time.perf_counter()
                continue
            current = None
            next_case = event["case"] + 1
            stats["cases"] += 1
            stats[event["outcome"]] += 1
            if event["outcome"] == "refused" and event["seconds"] > stats["slowest_refusal"]:
                stats["slowest_refusal"], stats["slowest_refusal_case"] = event["seconds"], event["detail"]
            if event["outcome"] in ("unexpected", "invalid") and len(stats["examples"]) < 20:
                stats["examples"].append(event)
            if stats["cases"] % 500 == 0:
                print(f"  library: {stats['cases']} cases", flush=True)
        proc.stdout.close()
        if proc.poll() is None:
            proc.wait()
    return stats


# ---- the service ------------------------------------------------------------------------------------------------
ROUTES = ["qapflow", "workflow", "allocflow", "graphflow", "dualflow", "evoflow", "mezan"]


def service_body(rng: random.Random) -> tuple[str, str, bytes, dict]:
    """(method, path, body bytes, headers) of one hostile request."""
    route = rng.choice([*ROUTES, "jobs", "jobs", "raw"])
    headers = {"Content-Type": "application/json"}
    if route == "raw":
        body = rng.choice([b'{"A": [[NaN, 1], [1, 0]], "B": [[0, 1], [1, 0]]}', b'{"A": [[1e999]]}', b"{", b"[]",
                           b"\xff\xfe\x00", b"null", b'"x"', b"[" * 5000 + b"]" * 5000, b'{"seed": 1e400}',
                           b'{"A": [[0, 1], [1, 0]], "B": [[0, 1], [1, 0]], "seed": 18446744073709551616}'])
        if rng.random() < 0.3:
            headers["Content-Type"] = rng.choice(["text/plain", "application/x-www-form-urlencoded", ""])
        return "POST", f"/{rng.choice(ROUTES)}/solve", body, headers
    if route == "jobs":
        action = rng.choice(["create", "create", "get", "delete", "list"])
        if action == "get":
            return "GET", f"/jobs/{rng.choice(['x', '../../etc/passwd', '%00', '0' * 300, 'abc'])}", b"", headers
        if action == "delete":
            return "DELETE", f"/jobs/{rng.choice(['x', 'zz', '1'])}", b"", headers
        if action == "list":
            return "GET", "/jobs", b"", headers
        body = wire_problem(rng) if rng.random() < 0.6 else {"A": matrix(rng), "B": matrix(rng)}
        body["route"] = option(rng, rng.choice(ROUTES))
    elif route == "qapflow":
        body = {"A": matrix(rng), "B": matrix(rng), "mode": option(rng, rng.choice(QAP_MODES))}
    elif route == "evoflow":
        body = {"type": option(rng, rng.choice(["qap", "tsp", "linear_ordering"])), "A": matrix(rng),
                "B": matrix(rng), "D": matrix(rng), "W": matrix(rng), "variant": option(rng, "ga")}
    else:
        body = wire_problem(rng)
    if isinstance(body, dict):
        body["time_limit"] = option(rng, TIME_LIMIT)
        if rng.random() < 0.5:
            body["seed"] = option(rng, rng.randint(0, 100))
    path = "/jobs" if route == "jobs" else f"/{route}/solve"
    return "POST", path, json.dumps(body, allow_nan=True).encode(), headers


def run_service(seed: int, count: int, workers: int = 2) -> dict:
    from mezan.service.keys import KeyStore
    from mezan.store import Store

    keys: list[str] = []

    def create_key(store: Path) -> None:
        keys.append(KeyStore(Store(store)).create("admin", "fuzz", rate_per_minute=1e9)[0])

    with local_server("--workers", str(workers), "--max-time", "1", prefix="mezan-fuzz-",
                      before_start=create_key) as server:
        return _fuzz_routes(seed, count, workers, server.url, keys[0], server.process)


def _fuzz_routes(seed: int, count: int, workers: int, url: str, key: str, server: subprocess.Popen) -> dict:
    stats = {"requests": 0, "5xx": 0, "hangs": 0, "crashes": 0, "lost_workers": 0, "2xx": 0, "4xx": 0,
             "slowest_refusal": 0.0, "slowest_refusal_request": None, "status_counts": {}, "examples": []}

    def health() -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=GRACE) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")
        except OSError:
            return 0, {}

    for index in range(count):
        rng = random.Random(f"{seed}:service:{index}")
        method, path, body, headers = service_body(rng)
        headers = {**headers, "Authorization": f"Bearer {key}"}
        request = urllib.request.Request(f"{url}{path}", data=body if method == "POST" else None, method=method,
                                         headers=headers)
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=1.0 + GRACE) as r:
                status = r.status
                r.read()
        except urllib.error.HTTPError as e:
            status = e.code
            e.read()
        except TimeoutError:
            status = "hang"
        except OSError as exc:
            status = f"connection error: {exc}"
        seconds = time.perf_counter() - t0
        stats["requests"] += 1
        key_name = str(status)
        stats["status_counts"][key_name] = stats["status_counts"].get(key_name, 0) + 1
        if status == "hang":
            stats["hangs"] += 1
        elif isinstance(status, str):
            stats["crashes"] += 1
        elif status >= 500:
            stats["5xx"] += 1
        elif status >= 400:
            stats["4xx"] += 1
            if seconds > stats["slowest_refusal"]:
                stats["slowest_refusal"] = seconds
                stats["slowest_refusal_request"] = f"{method} {path} -> {status}"
        else:
            stats["2xx"] += 1
        if (status == "hang" or isinstance(status, str) or status >= 500) and len(stats["examples"]) < 20:
            stats["examples"].append({"request": index, "path": path, "status": status, "body": body[:300].decode(
                "utf-8", "replace")})
        if server.poll() is not None:
            stats["crashes"] += 1
            break
        if (index + 1) % 500 == 0:
            code, info = health()
            if code != 200 or info.get("workers") != workers:
                stats["lost_workers"] += 1
            print(f"  service: {index + 1} requests", flush=True)
    time.sleep(2.0)  # let the last jobs end
    code, info = health()
    if code != 200 or info.get("workers") != workers or info.get("workers_stuck", 0):
        stats["lost_workers"] += 1
    stats["final_health"] = info
    return stats


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--library-worker":
        library_worker(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="hostile inputs in all (half library, half routes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["library", "service"])
    args = parser.parse_args()
    started = time.perf_counter()
    report = {}
    library_count = args.cases if args.only == "library" else (0 if args.only == "service" else args.cases // 2)
    if library_count:
        print(f"library: {library_count} hostile calls", flush=True)
        report["library"] = run_library(args.seed, library_count)
    service_count = args.cases - library_count
    if service_count:
        print(f"service: {service_count} hostile requests", flush=True)
        report["service"] = run_service(args.seed, service_count)
    report["wall_time"] = time.perf_counter() - started
    print(json.dumps(report, indent=1, default=str))
    lib, svc = report.get("library", {}), report.get("service", {})
    bad = {"crashes": lib.get("crashes", 0) + svc.get("crashes", 0), "5xx": svc.get("5xx", 0),
           "hangs": lib.get("hangs", 0) + svc.get("hangs", 0), "lost workers": svc.get("lost_workers", 0),
           "unexpected exceptions": lib.get("unexpected", 0), "invalid results": lib.get("invalid", 0)}
    print(f"\n{lib.get('cases', 0)} library calls + {svc.get('requests', 0)} requests in "
          f"{report['wall_time']:.0f} s: " + ", ".join(f"{k} {v}" for k, v in bad.items()))
    print(f"slowest refusal: library {lib.get('slowest_refusal', 0.0) * 1e3:.1f} ms, "
          f"service {svc.get('slowest_refusal', 0.0) * 1e3:.1f} ms ({svc.get('slowest_refusal_request')})")
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fuzz.json").write_text(json.dumps(report, indent=1, default=str))
    sys.exit(0 if not any(bad.values()) else 1)


if __name__ == "__main__":
    main()
