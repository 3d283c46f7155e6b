"""Hostile-input fuzzing of every entry point: the library, the HTTP routes, the MCP server, the CLI's file readers,
the ASlib reader and OptiBench's specs and output paths.

Generates --cases hostile inputs (default 10,000, split evenly over the parts chosen; ``--counts part=N,...`` sets a
part's count) from one seed: case i of part P is a pure function of ``Random(f"{seed}:{P}:{i}")``, so any failure is
replayed alone with ``--case P:i``. Every child process runs under a memory cap (RLIMIT_AS, 3 GiB), every case under a
time limit (its budget + GRACE seconds), and the report counts what must all be zero:

- crashes: a process that dies (a library worker, the CLI worker, the server, the MCP server) in the middle of a case;
- tracebacks: "Traceback (most recent call last)" on a CLI's stderr, or in the MCP server's log;
- hangs: a call, request or command not answered in time, work that goes on after a cancel, a server that outlives
  its input;
- 5xx responses from the HTTP service; lost workers/servers: /health not ready or fewer solver workers, an MCP server
  that stops answering or drops a malformed line without a JSON-RPC error;
- unbounded memory: MemoryError, std::bad_alloc, or a kill under the cap;
- unexpected exceptions: a library call raising anything but a ``mezan.errors.MezanError``, an MCP tool's bare
  "Error executing tool X" (a raw exception inside the tool);
- silent nonsense: a QAP/EvoFlow result whose permutation is not one or whose objective does not recompute, NaN or
  Infinity in JSON output, an ASlib m-hat out of range or inconsistent with the costs, a store that lost rows or was
  overwritten, an existing file overwritten without --force;
- unclear errors: a refusal that is not one line (or says nothing); leaks: a file outside the MCP root quoted back;

and the slowest refusal of each part, the number of each outcome, the failures grouped by defect, and the wall time.

Parts:

- library: ``mezan.qap.solve`` for every method and mode, ``quadratic_assignment``, ``evolve`` (QAP, TSP, linear
  ordering), the flow solvers through their wire forms, composite requests through ``mezan.solve``. Values: extreme
  finite numbers (±1e308, 1e300, 2**62, 1e-308), NaN/inf, empty, 1-D, 3-D, ragged and non-square shapes, strings,
  booleans, wrong option types, out-of-range seeds, permutations and partial matches, references to missing or
  wrong-typed fields.
- service: the same bodies as JSON on every solve route and on /jobs (create, read, cancel) of a real ``mezan serve``
  on 127.0.0.1, plus raw bodies (NaN literals, truncated JSON, non-UTF-8, deep nesting, wrong content types).
- mcp: ``mezan mcp`` over stdio JSON-RPC (bench/fuzz_mcp.py): hostile arguments to every tool, paths outside the root,
  huge specs, wrong-typed budgets and seeds, malformed lines, cancellations and EOF in the middle of a call.
- cli: ``mezan solve|analyze|bench register FILE`` on hostile files (bench/fuzz_cli.py).
- aslib: ``mezan meta aslib evaluate DIR --json`` and ``read_scenario`` on hostile scenarios (bench/fuzz_aslib.py).
- bench: ``mezan bench run|register|export|report|list|analyze`` with hostile specs, stores and output paths; the
  store is checked after every case (bench/fuzz_bench.py).

The cli, aslib and bench parts call ``mezan.cli.main(argv)`` in a long-lived worker process (one process start per
batch, restarted after a crash or a hang); the mcp part runs one server per batch of cases.

    python bench/fuzz.py [--cases 10000] [--seed 0] [--only library,service,mcp,cli,aslib,bench]
                         [--counts mcp=2000,cli=3000] [--jobs 2] [--report PATH]
    python bench/fuzz.py --case cli:17        # replay one case, showing its input and its output
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.modules.setdefault("fuzz", sys.modules[__name__])  # the parts' modules import this one by that name
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
            kwargs["initial"] = rng.choice([list(range(n)), list(range(n))[::-1], [0] * n, [0, 1], "x", None])
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
        except MemoryError as exc:  # under the worker's RLIMIT_AS: an allocation without a bound
            outcome, detail = "memory", f"{type(exc).__name__}: {str(exc)[:300]}"
        except Exception as exc:
            outcome, detail = "unexpected", f"{type(exc).__name__}: {str(exc)[:300]}"
        print(json.dumps({"case": index, "what": what, "event": "end", "outcome": outcome, "detail": detail,
                          "seconds": time.perf_counter() - t0}), flush=True)


def run_library(seed: int, count: int) -> dict:
    """Run the library cases in a worker process (under the memory cap), restarting it after a crash or a hang."""
    from fuzz_proc import LineReader, limit_memory

    stats = {"cases": 0, "crashes": 0, "hangs": 0, "unexpected": 0, "invalid": 0, "ok": 0, "refused": 0, "memory": 0,
             "slowest_refusal": 0.0, "slowest_refusal_case": None, "examples": []}
    next_case = 0
    while next_case < count:
        proc = subprocess.Popen([sys.executable, __file__, "--library-worker", str(seed), str(next_case),
                                 str(count - next_case)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                preexec_fn=limit_memory)
        reader = LineReader(proc.stdout)  # never readline() after select(): a buffered line would go unseen
        current, started = None, time.perf_counter()
        while True:
            lines = reader.lines(1.0)
            if not lines and not reader.eof:
                if current is not None and time.perf_counter() - started > 1.0 + GRACE:
                    stats["cases"] += 1
                    stats["hangs"] += 1
                    stats["examples"].append({"case": current, "outcome": "hang", "detail": "no answer"})
                    proc.kill()
                    next_case = current + 1
                    break
                continue
            for line in lines:
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
                if event["outcome"] in ("unexpected", "invalid", "memory") and len(stats["examples"]) < 20:
                    stats["examples"].append(event)
                if stats["cases"] % 500 == 0:
                    print(f"  library: {stats['cases']} cases", flush=True)
            if reader.eof and not reader.buffer:  # the worker ended: done, or crashed in the middle of `current`
                proc.wait()
                if current is not None:
                    killed = proc.returncode == -9  # not by us: the kernel, out of memory
                    stats["cases"] += 1
                    stats["memory" if killed else "crashes"] += 1
                    stats["examples"].append({"case": current, "outcome": "memory" if killed else "crash",
                                              "detail": f"worker died (exit code {proc.returncode})"})
                    next_case = current + 1
                else:
                    next_case = count
                break
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
        cap_memory(server.process.pid)
        return _fuzz_routes(seed, count, workers, server.url, keys[0], server.process)


def cap_memory(pid: int) -> None:
    """The memory cap on a process started without it (the server and its solver workers), set from outside."""
    import resource

    import psutil
    from fuzz_proc import MEMORY_CAP

    server = psutil.Process(pid)
    for process in [server, *server.children(recursive=True)]:
        try:
            resource.prlimit(process.pid, resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
        except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
            pass


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


PARTS = ("library", "service", "mcp", "cli", "aslib", "bench")
WORKER_MODULES = {"cli": "fuzz_cli", "aslib": "fuzz_aslib", "bench": "fuzz_bench"}
COLUMNS = ("cases", "ok", "refused", "crash", "traceback", "hang", "5xx", "lost", "memory", "nonsense", "unclear",
           "unexpected", "leak")
FAILURES = COLUMNS[3:]


def summary_row(part: str, stats: dict) -> dict:
    """One part's counts in the report's columns (the library and service parts keep their own stats' names)."""
    if part == "library":
        return {"cases": stats["cases"], "ok": stats["ok"], "refused": stats["refused"], "crash": stats["crashes"],
                "hang": stats["hangs"], "memory": stats.get("memory", 0), "nonsense": stats["invalid"],
                "unexpected": stats["unexpected"]}
    if part == "service":
        return {"cases": stats["requests"], "ok": stats["2xx"], "refused": stats["4xx"], "crash": stats["crashes"],
                "hang": stats["hangs"], "5xx": stats["5xx"], "lost": stats["lost_workers"]}
    return {k: stats.get(k, 0) for k in COLUMNS}


def failures_of(part: str, stats: dict) -> list[dict]:
    """Every recorded failure of a part as {part, case, outcome, what, detail, desc}."""
    from fuzz_proc import signature

    out = []
    if part == "library":
        for e in stats["examples"]:
            out.append({"part": part, "case": e.get("case"), "outcome": {"invalid": "nonsense"}.get(
                e.get("outcome"), e.get("outcome")), "what": e.get("what"), "detail": e.get("detail"), "desc": None})
    elif part == "service":
        for e in stats["examples"]:
            out.append({"part": part, "case": e.get("request"), "outcome": str(e.get("status")), "what": e.get("path"),
                        "detail": e.get("body"), "desc": None})
    else:
        out = [{"part": part, **e} for e in stats["failures"]]
    for f in out:
        f["signature"] = signature(str(f.get("detail") or ""))
    return out


def text_report(report: dict, args: argparse.Namespace) -> str:
    """The human report: a table of outcomes per part, the totals, the slowest refusals, the failures by defect."""
    parts = [p for p in PARTS if p in report["parts"]]
    rows = {p: summary_row(p, report["parts"][p]) for p in parts}
    width = max(8, *(len(p) for p in parts))
    lines = [f"mezan fuzz: seed {args.seed}, {sum(r.get('cases', 0) for r in rows.values()):,} cases in "
             f"{report['wall_time']:.0f} s (memory cap {report['memory_cap'] / 2**30:g} GiB per child, "
             f"a hang after budget + {report['grace']:g} s)", ""]
    lines.append(" ".join(["part".ljust(width), *(c.rjust(max(5, len(c))) for c in COLUMNS), "seconds"]))
    totals = {c: 0 for c in COLUMNS}
    for p in parts:
        lines.append(" ".join([p.ljust(width), *(str(rows[p].get(c, 0)).rjust(max(5, len(c))) for c in COLUMNS),
                               f"{report['parts'][p].get('wall_time', 0):7.0f}"]))
        if report["parts"][p].get("setup_failure"):
            lines.append(f"  ({p}: SETUP FAILED: {report['parts'][p]['setup_failure'][:300]})")
        if report["parts"][p].get("fuzzer_errors"):
            errors = report["parts"][p]["fuzzer_errors"]
            lines.append(f"  ({p}: {len(errors)} cases not run, a defect of the fuzzer: {errors[0]['detail'][:200]})")
        for c in COLUMNS:
            totals[c] += rows[p].get(c, 0)
    lines.append(" ".join(["total".ljust(width), *(str(totals[c]).rjust(max(5, len(c))) for c in COLUMNS)]))
    lines.append("")
    lines.append("must be 0: " + ", ".join(f"{c} {totals[c]}" for c in FAILURES))
    lines.append("")
    lines.append("slowest refusal per part:")
    for p in parts:
        stats = report["parts"][p]
        where = stats.get("slowest_refusal_case") or stats.get("slowest_refusal_request")
        if isinstance(where, dict):
            where = f"case {where.get('case')}: {where.get('desc') or where.get('what')} -> {where.get('detail')}"
        lines.append(f"  {p}: {stats.get('slowest_refusal', 0.0) * 1e3:.0f} ms ({str(where)[:400]})")
    groups: dict[tuple, list[dict]] = {}
    for p in parts:
        for f in failures_of(p, report["parts"][p]):
            groups.setdefault((p, f["outcome"], f["signature"]), []).append(f)
    if groups:
        lines.append("")
        lines.append(f"failures by defect ({len(groups)} groups; replay one with --seed {args.seed} --case PART:CASE):")
        for (p, outcome, sig), items in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
            first = items[0]
            lines.append(f"- [{p}] {outcome} x{len(items)}: {sig}")
            lines.append(f"    e.g. case {p}:{first.get('case')} ({first.get('what')}): {str(first.get('desc'))[:500]}")
            lines.append(f"    -> {str(first.get('detail'))[:500]}")
            more = sorted({str(i.get("case")) for i in items[1:6]})
            if more:
                lines.append(f"    also cases {', '.join(more)}")
    return "\n".join(lines)


def parse_counts(args: argparse.Namespace) -> dict[str, int]:
    chosen = [p.strip() for spec in args.only or [] for p in spec.split(",") if p.strip()] or list(PARTS)
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        raise SystemExit(f"fuzz: --only: unknown part(s) {', '.join(unknown)}; parts: {', '.join(PARTS)}")
    counts = {p: args.cases // len(chosen) + (1 if i < args.cases % len(chosen) else 0) for i, p in enumerate(chosen)}
    for item in (args.counts or "").split(","):
        if item.strip():
            name, _, value = item.partition("=")
            if name.strip() not in PARTS or not value.strip().isdigit():
                raise SystemExit(f"fuzz: --counts: expected PART=N with PART one of {', '.join(PARTS)}, got {item!r}")
            counts[name.strip()] = int(value)
    return {p: n for p, n in counts.items() if n > 0}


def run_part(part: str, seed: int, count: int, grace: float) -> dict:
    sys.stdout.write(f"{part}: {count} hostile cases\n")
    sys.stdout.flush()
    started = time.perf_counter()
    if part == "library":
        stats = run_library(seed, count)
    elif part == "service":
        stats = run_service(seed, count)
    elif part == "mcp":
        import fuzz_mcp

        stats = fuzz_mcp.run(seed, count, grace=grace)
    else:
        from fuzz_proc import run_workers

        stats = run_workers(part, seed, count, __file__, grace=grace)
    stats["wall_time"] = time.perf_counter() - started
    sys.stdout.write(f"{part}: done in {stats['wall_time']:.0f} s\n")
    sys.stdout.flush()
    return stats


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--library-worker":
        library_worker(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        import importlib

        from fuzz_proc import worker_loop

        part = sys.argv[2]
        worker_loop(part, importlib.import_module(WORKER_MODULES[part]), int(sys.argv[3]), int(sys.argv[4]),
                    int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="hostile inputs in all, split evenly over the parts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", action="append", help=f"parts, comma-separated or repeated: {', '.join(PARTS)}")
    parser.add_argument("--counts", help="cases per part, e.g. mcp=2000,cli=3000 (overrides the even split)")
    parser.add_argument("--jobs", type=int, default=1, help="parts run at the same time")
    parser.add_argument("--grace", type=float, default=GRACE, help="seconds beyond a case's budget before a hang")
    parser.add_argument("--report", help="also write the text report to this file")
    parser.add_argument("--case", help="replay one case: PART:INDEX (mcp, cli, aslib or bench)")
    args = parser.parse_args()
    if args.case:
        import importlib

        from fuzz_proc import replay

        part, _, index = args.case.partition(":")
        if part == "mcp":
            import fuzz_mcp

            fuzz_mcp.replay(args.seed, int(index))
        else:
            replay(part, importlib.import_module(WORKER_MODULES[part]), args.seed, int(index))
        return
    from concurrent.futures import ThreadPoolExecutor

    from fuzz_proc import MEMORY_CAP

    counts = parse_counts(args)
    started = time.perf_counter()
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {p: pool.submit(run_part, p, args.seed, n, args.grace) for p, n in counts.items()}
        parts = {p: f.result() for p, f in futures.items()}
    report = {"seed": args.seed, "counts": counts, "parts": parts, "wall_time": time.perf_counter() - started,
              "memory_cap": MEMORY_CAP, "grace": args.grace}
    text = text_report(report, args)
    print(text)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fuzz.json").write_text(json.dumps(report, indent=1, default=str))
    if args.report:
        Path(args.report).write_text(text + "\n")
    bad = sum(summary_row(p, s).get(c, 0) for p, s in parts.items() for c in FAILURES)
    sys.exit(0 if not bad else 1)


if __name__ == "__main__":
    main()
