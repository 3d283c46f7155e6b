"""`mezan serve` as a real process: the CLI's keys and jobs commands against it, and jobs that survive
a server killed with SIGKILL."""

import json
import os
import signal
import time
import urllib.request

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from mezan.cli import main

from conftest import free_port, start_server


def run_cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_keys_and_jobs_through_the_cli_and_jobs_survive_a_killed_server(tmp_path, capsys):
    store = tmp_path / "mezan.db"
    code, out, err = run_cli(capsys, "keys", "create", "--scope", "solve", "--name", "ci", "--store", str(store))
    assert code == 0 and out.strip().startswith("mzn_") and "not shown again" in err
    key = out.strip()
    code, out, _ = run_cli(capsys, "keys", "list", "--json", "--store", str(store))
    keys = json.loads(out)
    assert code == 0 and [(k["name"], k["scope"], k["revoked"]) for k in keys] == [("ci", "solve", None)]
    assert key not in out  # secrets are never listed
    assert run_cli(capsys, "keys", "create", "--scope", "root", "--store", str(store))[0] == 2

    port = free_port()
    server = f"http://127.0.0.1:{port}"
    proc = start_server(store, port)
    try:
        quick = tmp_path / "quick.json"
        tasks = [{"id": "a", "duration": 2}, {"id": "b", "duration": 3}]
        quick.write_text(json.dumps({"type": "workflow", "tasks": tasks, "precedences": [["a", "b"]], "time_limit": 2}))
        code, out, _ = run_cli(capsys, "jobs", "submit", str(quick), "--route", "workflow", "--wait", "--json",
                               "--server", server, "--key", key)
        done = json.loads(out)
        assert code == 0 and done["status"] == "done" and done["result"]["objective"] == 5
        rng = np.random.default_rng(7)
        A, B = rng.integers(0, 10, (2, 70, 70)).tolist()
        long = tmp_path / "long.json"
        long.write_text(json.dumps({"A": A, "B": B, "mode": "aggressive", "time_limit": 60}))
        code, out, _ = run_cli(capsys, "jobs", "submit", str(long), "--route", "qapflow", "--json",
                               "--server", server, "--key", key)
        running = json.loads(out)["id"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until the job has written progress to the store
            code, out, _ = run_cli(capsys, "jobs", "status", running, "--json", "--server", server, "--key", key)
            job = json.loads(out)
            if job["status"] == "running" and job["progress"]["best_objective"] is not None:
                time.sleep(0.8)  # past one progress write (every 0.5 s)
                break
            time.sleep(0.1)
        assert job["status"] == "running"
        code, _, err = run_cli(capsys, "jobs", "status", "nope", "--server", server, "--key", key)
        assert code == 2 and "HTTP 404" in err and "no job with id 'nope'" in err
        code, _, err = run_cli(capsys, "jobs", "status", running, "--server", server, "--key", "mzn_wrong")
        assert code == 2 and "HTTP 401" in err
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    from mezan.service import ServiceConfig, create_app
    from mezan.store import Store

    restarted = create_app(ServiceConfig(workers=1), Store(store))
    try:
        queue = restarted.state.queue
        assert queue.interrupted == 1
        kept = queue.get(done["id"])
        assert kept.status == "done" and kept.result["objective"] == 5
        lost = queue.get(running)
        assert lost.status == "interrupted" and "best-so-far is kept" in lost.error
        assert lost.best is not None and lost.curve and lost.curve[-1][1] == lost.best
    finally:
        restarted.state.queue.close()

    port = free_port()
    proc = start_server(store, port)
    try:
        code, out, _ = run_cli(capsys, "jobs", "cancel", running, "--json", "--server", f"http://127.0.0.1:{port}",
                               "--key", key)
        assert code == 0 and json.loads(out)["status"] == "interrupted"  # already ended: cancelling changes nothing
        keys = json.loads(run_cli(capsys, "keys", "list", "--json", "--store", str(store))[1])
        code, out, _ = run_cli(capsys, "keys", "revoke", keys[0]["id"], "--json", "--store", str(store))
        assert code == 0 and abs(json.loads(out)["revoked"] - time.time()) < 60  # revoked now, a timestamp
        code, _, err = run_cli(capsys, "keys", "revoke", keys[0]["id"], "--store", str(store))
        assert code == 2 and "already revoked" in err
        code, _, err = run_cli(capsys, "jobs", "status", running, "--server", f"http://127.0.0.1:{port}", "--key", key)
        assert code == 2 and "HTTP 401" in err and "revoked" in err
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_no_auth_says_so_loudly(tmp_path):
    port = free_port()
    proc = start_server(tmp_path / "mezan.db", port, "--no-auth")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/solvers", timeout=5) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "WARNING: --no-auth" in proc.log.read_text()
