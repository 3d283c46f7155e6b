"""``mezan mcp`` driven by the MCP SDK's own client over stdio: the tools and their schemas, a bundled instance solved
(the objective recomputes) with progress, DeepThink's plan, a malformed problem as a tool error naming the field,
and a cancelled long solve that stops the solver. Hardening: budgets and seeds refused by the library's own parsers,
files read only under the server's root, specs bounded, cancelled or abandoned studies and analyses stopped, and a
line that is not JSON-RPC answered with a JSON-RPC error."""

import json
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import numpy as np
import psutil
import pytest

pytest.importorskip("mcp")
from mcp import Client, StdioServerParameters

from mezan.qap import instances, objective

pytestmark = pytest.mark.slow  # each test runs a server or a script: seconds each

MEZAN = str(Path(sys.executable).parent / "mezan")


def _server(tmp_path, *args):
    env = {"MEZAN_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    return StdioServerParameters(command=MEZAN, args=["mcp", *args], env=env)


def _run(body):
    return anyio.run(body)


def test_the_client_lists_the_tools_and_solves_a_bundled_instance(tmp_path):
    async def body():
        progress = []
        async with Client(_server(tmp_path), read_timeout_seconds=120) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == {"solve", "solve_instance", "analyze", "study", "instances", "metaflow_status"}
            assert tools["solve"].input_schema["required"] == ["problem"]
            assert tools["solve"].input_schema["properties"]["time_limit"]["type"] == "number"
            assert tools["study"].input_schema["properties"]["solvers"]["type"] == "array"
            bundled = (await client.call_tool("instances", {})).structured_content
            assert bundled["nug12"] == 578

            async def on_progress(value, total, message):
                progress.append((value, message))

            result = await client.call_tool("solve_instance", {"name": "nug12", "time_limit": 1.0, "seed": 3},
                                            progress_callback=on_progress)
            assert not result.is_error
            record = result.structured_content
            problem = instances.load("nug12")
            assert record["objective"] == objective(problem.A, problem.B, np.array(record["solution"]))
            assert record["objective"] >= 578 and record["best_known"] == 578 and record["solver"] == "qapflow.auto"
            assert progress and all(m.startswith("best objective") for _, m in progress)
            wire = {"type": "qap", "A": problem.A.tolist(), "B": problem.B.tolist()}
            solved = await client.call_tool("solve", {"problem": wire, "time_limit": 0.5, "seed": 1})
            solved = solved.structured_content
            assert solved["objective"] == objective(problem.A, problem.B, np.array(solved["solution"]))
            analysis = (await client.call_tool("analyze", {"problem": wire, "time_limit": 1.0})).structured_content
            assert analysis["plan"]["solver"] and analysis["plan"]["budget"] <= 1.0
            assert analysis["validator"]["lower_bound"] <= 578 and analysis["failures"] == {}
            status = (await client.call_tool("metaflow_status", {})).structured_content
            assert isinstance(status, dict)

    _run(body)


@pytest.mark.parametrize(("arguments", "named"), [
    ({"problem": {"type": "qap", "A": [[0, 1], [1, 0]], "B": [[0, 1]]}}, "B"),
    ({"problem": {"type": "nonsense"}}, "type"),
    ({"problem": {"type": "qap", "A": [[0, 1], [1, 0]], "B": [[0, 1], [1, 0]]}, "time_limit": -1}, "time_limit"),
])
def test_a_malformed_problem_is_a_tool_error_naming_the_field(tmp_path, arguments, named):
    async def body():
        async with Client(_server(tmp_path), read_timeout_seconds=60) as client:
            result = await client.call_tool("solve", arguments)
            assert result.is_error
            text = result.content[0].text
            assert named in text and "Traceback" not in text
            bad = await client.call_tool("solve_instance", {"name": "nope"})
            assert bad.is_error and "name" in bad.content[0].text
            # the server is still there
            assert (await client.call_tool("instances", {})).structured_content["nug12"] == 578

    _run(body)


def _server_process():
    for child in psutil.Process().children(recursive=True):
        try:
            if "mcp" in child.cmdline():
                return child
        except psutil.NoSuchProcess:
            continue
    raise AssertionError("the mezan mcp process is not a child of the test")


def _cpu(process):
    times = process.cpu_times()
    return times.user + times.system


def test_a_cancelled_solve_stops_the_solver(tmp_path):
    rng = np.random.default_rng(0)
    A, B = rng.integers(0, 50, (2, 60, 60))
    wire = {"type": "qap", "A": A.tolist(), "B": B.tolist()}

    async def body():
        async with Client(_server(tmp_path), read_timeout_seconds=120) as client:
            started = anyio.Event()

            async def on_progress(value, total, message):
                started.set()

            async def long_solve():
                await client.call_tool("solve", {"problem": wire, "time_limit": 120.0}, progress_callback=on_progress)

            began = time.monotonic()
            async with anyio.create_task_group() as group:
                group.start_soon(long_solve)
                with anyio.fail_after(60):
                    await started.wait()
                group.cancel_scope.cancel()
            assert time.monotonic() - began < 60
            server = _server_process()
            await anyio.sleep(1.0)  # let the stop reach the solver
            before = _cpu(server)
            await anyio.sleep(2.0)
            assert _cpu(server) - before < 0.5, "the solver still runs after the request was cancelled"
            assert (await client.call_tool("instances", {})).structured_content["nug12"] == 578

    _run(body)


def _tool_error(result, *named):
    """The text of a tool error that names every one of ``named`` (and is no traceback)."""
    assert result.is_error, result.structured_content
    text = result.content[0].text
    assert all(n in text for n in named) and "Traceback" not in text, text
    return text


BAD_ARGUMENTS = [  # (tool, arguments, what the error says): the library's own messages, by the argument's name
    ("solve", {"time_limit": "1"}, ["time_limit must be a number of seconds, got '1'"]),
    ("solve", {"time_limit": True}, ["time_limit must be a number of seconds, got True"]),
    ("solve", {"time_limit": -1}, ["time_limit must be positive, got -1"]),
    ("solve", {"time_limit": [1]}, ["time_limit must be a number of seconds"]),
    ("solve", {"seed": -1}, ["seed must be an integer in [0, 2**63 - 1]", "got -1"]),
    ("solve", {"seed": "3"}, ["seed must be an integer", "got '3'"]),
    ("solve", {"seed": True}, ["seed must be an integer", "got True"]),
    ("solve_instance", {"name": "nug12", "time_limit": "1"}, ["time_limit must be a number of seconds"]),
    ("solve_instance", {"name": "nug12", "seed": -1}, ["seed must be an integer"]),
    ("analyze", {"time_limit": False}, ["time_limit must be a number of seconds, got False"]),
    ("study", {"solvers": ["rots", "anneal"], "instances": ["qaplib:nug12"], "time_limit": "1"},
     ["time_limit must be a number of seconds"]),
    ("study", {"solvers": ["rots", "anneal"], "instances": ["qaplib:nug12"], "seeds": 0},
     ["seeds must be an integer >= 1, got 0"]),
]


def test_budgets_and_seeds_are_refused_by_the_librarys_own_parsers(tmp_path):
    problem = {"type": "qap", "A": [[0, 1, 2], [1, 0, 3], [2, 3, 0]], "B": [[0, 5, 1], [5, 0, 2], [1, 2, 0]]}

    async def body():
        async with Client(_server(tmp_path), read_timeout_seconds=60) as client:
            for tool, arguments, named in BAD_ARGUMENTS:
                given = {"problem": problem, **arguments} if tool in ("solve", "analyze") else arguments
                _tool_error(await client.call_tool(tool, given), *named)

    _run(body)


def test_a_huge_time_limit_is_a_budget_and_the_argument_schemas_are_unchanged(tmp_path):
    problem = {"type": "qap", "A": [[0, 1, 2], [1, 0, 3], [2, 3, 0]], "B": [[0, 5, 1], [5, 0, 2], [1, 2, 0]]}

    async def body():
        async with Client(_server(tmp_path), read_timeout_seconds=60) as client:
            tools = {t.name: t.input_schema["properties"] for t in (await client.list_tools()).tools}
            assert tools["solve"]["time_limit"] == {"default": 10.0, "title": "Time Limit", "type": "number"}
            assert tools["solve"]["seed"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None,
                                              "title": "Seed"}
            assert tools["study"]["seeds"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
            assert tools["analyze"]["time_limit"]["anyOf"] == [{"type": "number"}, {"type": "null"}]
            solved = await client.call_tool("solve", {"problem": problem, "time_limit": 1e300, "seed": 2})
            assert not solved.is_error, solved.content
            record = solved.structured_content
            assert record["objective"] == objective(np.array(problem["A"]), np.array(problem["B"]),
                                                    np.array(record["solution"]))

    _run(body)


def test_a_study_reads_files_only_under_the_root_and_quotes_none(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    secret = "SECRET-7f3a"
    (outside / "x.dat").write_text(f"{secret} 1 2\n")
    (root / "link.dat").symlink_to(outside / "x.dat")
    (root / "bad.dat").write_text(f"{secret} 1 2\n")
    (root / "bad.json").write_text(json.dumps({"type": secret}))
    solvers = ["rots", "anneal"]

    async def body():
        async with Client(_server(tmp_path, "--root", str(root)), read_timeout_seconds=60) as client:
            async def refused(spec, *named):
                text = _tool_error(await client.call_tool("study", {"solvers": solvers, "instances": [spec]}),
                                   *named)
                assert secret not in text
                return text

            await refused(str(outside / "x.dat"), f"{outside / 'x.dat'} is outside the allowed root {root}")
            await refused("/etc/passwd", "/etc/passwd is outside the allowed root")
            await refused("/proc/self/environ", "is outside the allowed root")
            await refused("link.dat", f"{outside / 'x.dat'} is outside the allowed root")  # the symlink resolved
            await refused("../outside/x.dat", "is outside the allowed root")
            await refused(str(root), "is outside the allowed root")  # a folder holding a link out is refused too
            await refused("qaplib:../../etc/passwd", "'qaplib:' takes instance names")
            await refused("bad.dat", f"{root / 'bad.dat'}, line 1: a finite number was expected here")
            await refused("bad.json", "bad.json: not a wire-form problem")
            began = time.monotonic()
            await refused("generated:taillard_a:8:0-100000000", "at most 10,000 instances per spec",
                          "this one names 100,000,001")
            await refused("generated:taillard_a:100000000:0", "generated sizes must be from 3 to 5,000")
            assert time.monotonic() - began < 10

    _run(body)


def _raw_server(home):
    """``mezan mcp`` on pipes, initialised by hand (the SDK's client would end it on its own terms)."""
    proc = subprocess.Popen([MEZAN, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={"MEZAN_HOME": str(home), "PATH": "/usr/bin:/bin"}, cwd=home,
                            bufsize=0)  # unbuffered: select() sees every line not yet read
    _send(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}})
    assert _answers(proc, 1)[0]["id"] == 1
    _send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    return proc


def _close(proc, timeout):
    """End the server's input; the seconds it took to exit (it is killed after ``timeout``)."""
    began = time.monotonic()
    proc.stdin.close()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()
    return time.monotonic() - began


def _answers(proc, count, timeout=30.0):
    """The next ``count`` lines the server writes, or AssertionError when they do not come within ``timeout``."""
    deadline, out = time.monotonic() + timeout, []
    while len(out) < count:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"the server answered {len(out)} of {count} lines"
        out.append(json.loads(proc.stdout.readline()))
    return out


def _send(proc, message):
    proc.stdin.write(((message if isinstance(message, str) else json.dumps(message)) + "\n").encode())
    proc.stdin.flush()


def test_a_line_that_is_not_json_rpc_gets_a_json_rpc_error(tmp_path):
    proc = _raw_server(tmp_path)
    try:
        _send(proc, "this is not json")
        _send(proc, '{"jsonrpc": "2.0", "id": 7, "method": "tools/list"')  # cut short
        _send(proc, {"hello": "world"})  # JSON, not JSON-RPC
        _send(proc, '{"jsonrpc": "2.0", "id": NaN, "method": "ping"}')  # NaN is not JSON
        for ident in ("1e400", "1.5", "true", "[1]"):  # ids that are neither a string nor an integer: the SDK would
            _send(proc, f'{{"jsonrpc": "2.0", "id": {ident}, "method": "ping"}}')  # read a notification and stay silent
        _send(proc, {"jsonrpc": "2.0", "id": 8, "method": "ping"})
        answers = _answers(proc, 9)
    finally:
        _close(proc, 30)
    assert [a.get("error", {}).get("code") for a in answers] == [-32700, -32700, -32600, -32700] + [-32600] * 4 + [
        None]
    assert all(a["id"] is None for a in answers[:8]) and answers[8] == {"jsonrpc": "2.0", "id": 8, "result": {}}
    assert "not json" not in json.dumps(answers[:3])  # the line is not quoted back


def _tree_cpu(process):
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += _cpu(p)
        except psutil.NoSuchProcess:
            continue
    return total


STUDY = {"solvers": ["rots", "anneal"], "instances": ["generated:taillard_a:40:0-9"], "time_limit": 60.0}


def test_the_server_exits_at_end_of_input_while_a_study_runs(tmp_path):
    proc = _raw_server(tmp_path)
    _send(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "study", "arguments": STUDY}})
    time.sleep(4.0)  # the study's 60 s runs are under way
    assert proc.poll() is None
    # EXIT_GRACE (1 s) plus the interpreter's exit; 8 s leaves room for a loaded machine, and is far below the
    # study's 60 s runs that a server waiting for its work would take
    assert _close(proc, 15) < 8.0, "the server outlived its input"


def test_a_cancelled_study_stops_its_runs(tmp_path):
    async def body():
        async with Client(_server(tmp_path), read_timeout_seconds=120) as client:
            # A refused call first: it loads ATLAS (the tool imports it on first use, and an import runs to its end
            # whatever is cancelled: on a loaded machine it outlasted the 3 s below and was measured as the study)
            refused = await client.call_tool("study", {**STUDY, "time_limit": -1})
            assert refused.is_error and "time_limit" in refused.content[0].text

            async def long_call():
                await client.call_tool("study", STUDY)

            async with anyio.create_task_group() as group:
                group.start_soon(long_call)
                await anyio.sleep(3.0)  # the study's 60 s runs are under way
                group.cancel_scope.cancel()
            server = _server_process()
            await anyio.sleep(1.5)  # let the stop reach the runs
            before = _tree_cpu(server)
            await anyio.sleep(2.0)
            assert _tree_cpu(server) - before < 0.5, "the study still runs after the request was cancelled"
            assert (await client.call_tool("instances", {})).structured_content["nug12"] == 578

    _run(body)


def _stopped_within(work, stop, after, expected):
    """Run ``work()`` in a thread, set ``stop`` ``after`` seconds in, and return how long it took to raise."""
    outcome = {}

    def target():
        began = time.monotonic()
        try:
            work()
        except expected as exc:
            outcome["raised"] = exc
        outcome["seconds"] = time.monotonic() - began

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    time.sleep(after)
    stop.set()
    thread.join(30)
    assert "raised" in outcome, f"the work did not stop with {expected.__name__}"
    return outcome["seconds"] - after


def test_the_stop_the_server_sets_ends_an_analysis_at_its_next_step(tmp_path, monkeypatch):
    """What the analyze tool relies on: DeepThink checks its stop between the agents' steps and hands it to the
    solves it runs (here a Validator's descent that would otherwise run its whole 30 s)."""
    from mezan import registry
    from mezan.agents.deepthink import AnalysisStopped, deepthink
    from mezan.bench.instances import generated
    from mezan.store import Store

    descent = registry.get("qap.local_first")

    class Endless:  # stands in for the Validator's quick descent: runs until its stop is set
        def __getattr__(self, name):
            return getattr(descent, name)

        def solve(self, problem, *, time_limit, seed, stop=None, **options):  # noqa: ARG002 - the protocol's
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
                time.sleep(0.01)
            return descent.solve(problem, time_limit=0.01, seed=seed)

    real_get = registry.get
    monkeypatch.setattr(registry, "get", lambda name: Endless() if name == "qap.local_first" else real_get(name))
    problem, store = generated("taillard_a", 12, 1), Store(tmp_path / "s.db")
    stop = threading.Event()
    stop.set()
    with pytest.raises(AnalysisStopped):
        deepthink(problem, store=store, stop=stop)
    stop = threading.Event()
    late = _stopped_within(lambda: deepthink(problem, store=store, stop=stop), stop, 1.0, AnalysisStopped)
    assert late < 2.0, f"the analysis went on {late:.1f} s after its stop"


def test_the_stop_the_server_sets_ends_a_study_between_its_runs(tmp_path):
    from mezan.agents.atlas import StudyStopped, study
    from mezan.store import Store

    stop = threading.Event()
    late = _stopped_within(lambda: study(["rots", "anneal"], ["generated:taillard_a:30:0-3"], time_limit=60.0,
                                         store=Store(tmp_path / "s.db"), stop=stop), stop, 2.0, StudyStopped)
    assert late < 2.0, f"the study went on {late:.1f} s after its stop"
