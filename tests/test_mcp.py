"""``mezan mcp`` driven by the MCP SDK's own client over stdio: the tools and their schemas, a bundled instance solved
(the objective recomputes) with progress, DeepThink's plan, a malformed problem as a tool error naming the field,
and a cancelled long solve that stops the solver."""

import sys
import time
from pathlib import Path

import anyio
import numpy as np
import psutil
import pytest

pytest.importorskip("mcp")
from mcp import Client, StdioServerParameters

from mezan.qap import instances, objective

MEZAN = str(Path(sys.executable).parent / "mezan")


def _server(tmp_path):
    env = {"MEZAN_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    return StdioServerParameters(command=MEZAN, args=["mcp"], env=env)


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
            assert record["objective"] >= 578 and record["best_known"] == 578
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
