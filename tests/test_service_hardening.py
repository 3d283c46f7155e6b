"""Hostile input never crashes, hangs, bypasses a limit or reaches another key's data (issue 13, service side):
private jobs, per-key quotas and the reserved queue share, strict values naming the field, composite requests
under the same limits as direct ones, the watchdog, and the protocol edges (bodies too large or too slow,
clients that go away, keys in logs, the login form, security headers, failed authentications)."""

import http.client
import io
import json
import logging
import math
import socket
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

import mezan.service.state as service_state
from mezan.cli import main
from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.results import Result
from mezan.service import ServiceConfig, create_app
from mezan.service.jobs import STUCK, JobQueue
from mezan.service.keys import KeyStore, Sessions
from mezan.service.protocol import RedactKeys, redact
from mezan.service.routes import Admission, Work, parse
from mezan.service.schemas import EXAMPLES
from mezan.store import Store

from conftest import free_port, start_server

TINY_QAP = {"A": [[0, 1], [1, 0]], "B": [[0, 2], [2, 0]], "time_limit": 0.1}
FINAL = ("done", "failed", "cancelled", "interrupted")


class Server:
    """An app on its own store with named keys: ``key(name, scope, **options)`` creates one."""

    def __init__(self, tmp_path, **config):
        self.store = Store(tmp_path / "service.db")
        self.app = create_app(ServiceConfig(**({"workers": 2} | config)), self.store)
        self.client = TestClient(self.app)
        self.keys = KeyStore(self.store)
        self.secret = {}

    def key(self, name, scope="solve", **options):
        self.secret[name] = self.keys.create(scope, name, **options)[0]
        return self.secret[name]

    def auth(self, name):
        return {"Authorization": f"Bearer {self.secret[name]}"}

    def post(self, path, body, who, **kw):
        return self.client.post(path, json=body, headers=self.auth(who), **kw)

    def get(self, path, who, **kw):
        return self.client.get(path, headers=self.auth(who), **kw)

    def wait(self, job_id, who, until=FINAL, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"/jobs/{job_id}", who).json()
            if job["status"] in until:
                return job
            time.sleep(0.02)
        raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")

    def close(self):
        self.app.state.queue.close(wait=2)


@pytest.fixture
def make_server(tmp_path):
    made = []

    def make(**config):
        made.append(Server(tmp_path / f"s{len(made)}", **config))
        return made[-1]

    yield make
    for s in made:
        s.close()


@pytest.fixture
def gate():
    """An event the fake solvers below wait on; set at the end so their threads end."""
    event = threading.Event()
    yield event
    event.set()


def blocking(gate, time_limit=10.0, honours_stop=True, solver="fake"):
    """A Work that runs until ``gate`` is set (or, if it honours it, until told to stop)."""
    def run(stop, progress):
        progress(5.0, 0.0)
        while not gate.is_set() and not (honours_stop and stop.is_set()):
            gate.wait(0.01)
        return Result(solution=[0, 1], objective=5.0, status="cancelled" if stop.is_set() else "feasible")
    return Work("qapflow", "qap", solver, time_limit, None, ("n", 2), run)


@pytest.fixture
def fake_solves(monkeypatch):
    """Every solve route runs ``works[route]()`` (a fake Work) instead of parsing its body."""
    works = {}
    real = service_state.parse

    def parse_or_fake(route, body, **kw):
        return works[route]() if route in works else real(route, body, **kw)

    monkeypatch.setattr(service_state, "parse", parse_or_fake)  # Service.admit parses every body
    return works


def random_qap(n, seed):
    rng = np.random.default_rng(seed)
    A, B = rng.integers(0, 10, (2, n, n))
    np.fill_diagonal(A, 0)
    np.fill_diagonal(B, 0)
    return A.tolist(), B.tolist()


# ---- 4: jobs are private ------------------------------------------------------------------------------
def test_a_job_is_visible_only_to_its_key_and_admins(make_server, gate, fake_solves):
    s = make_server()
    for name, scope in (("alice", "solve"), ("bob", "solve"), ("reader", "read"), ("root", "admin")):
        s.key(name, scope)
    fake_solves["qapflow"] = lambda: blocking(gate)
    job_id = s.post("/jobs", {"route": "qapflow", **TINY_QAP}, "alice").json()["id"]
    s.wait(job_id, "alice", until=("running",))
    for who in ("bob", "reader"):
        r = s.get(f"/jobs/{job_id}", who)
        unknown = s.get("/jobs/0123456789abcdef", who)
        assert r.status_code == unknown.status_code == 404  # ids do not leak: the same answer as an unknown id
        assert r.json()["detail"].replace(job_id, "0123456789abcdef") == unknown.json()["detail"]
        assert job_id not in s.get("/jobs", who).text
        assert job_id not in s.get("/", who).text
        assert job_id not in s.get(f"/?job={job_id}", who).text.replace(f"no job {job_id}", "")
    r = s.client.delete(f"/jobs/{job_id}", headers=s.auth("bob"))
    assert r.status_code == 404 and s.get(f"/jobs/{job_id}", "alice").json()["status"] == "running"
    assert [j["id"] for j in s.get("/jobs", "alice").json()] == [job_id]
    assert job_id in s.get("/", "alice").text
    assert s.get(f"/jobs/{job_id}", "root").status_code == 200 and job_id in s.get("/jobs", "root").text
    assert s.client.delete(f"/jobs/{job_id}", headers=s.auth("root")).json()["status"] == "cancelled"


# ---- 5: one key cannot starve the others ---------------------------------------------------------------
def test_a_key_holds_at_most_its_quota_of_solves(make_server, gate, fake_solves):
    s = make_server(workers=1, key_quota=2)
    s.key("alice")
    s.key("bob")
    s.key("big", quota=3)
    fake_solves["qapflow"] = lambda: blocking(gate)
    body = {"route": "qapflow", **TINY_QAP}
    assert [s.post("/jobs", body, "alice").status_code for _ in range(2)] == [202, 202]
    r = s.post("/jobs", body, "alice")
    assert r.status_code == 429 and "quota" in r.json()["detail"] and int(r.headers["Retry-After"]) >= 1
    r = s.post("/qapflow/solve", TINY_QAP, "alice")  # a synchronous solve counts the same
    assert r.status_code == 429 and "quota is 2" in r.json()["detail"]
    assert s.post("/jobs", body, "bob").status_code == 202  # the others are not affected
    assert [s.post("/jobs", body, "big").status_code for _ in range(4)] == [202, 202, 202, 429]  # its own quota
    gate.set()
    for job in s.get("/jobs", "alice").json():
        s.wait(job["id"], "alice")
    assert s.post("/jobs", body, "alice").status_code == 202  # finished solves free the quota


def test_the_last_queue_slots_are_kept_for_keys_without_a_solve(make_server, gate, fake_solves):
    s = make_server(workers=1, queue_limit=4, reserved_slots=2, key_quota=10)
    for name in ("alice", "bob", "carol", "dave"):
        s.key(name)
    fake_solves["qapflow"] = lambda: blocking(gate)
    body = {"route": "qapflow", **TINY_QAP}
    first = s.post("/jobs", body, "alice").json()["id"]
    s.wait(first, "alice", until=("running",))
    assert [s.post("/jobs", body, "alice").status_code for _ in range(2)] == [202, 202]  # 2 of 4 queue slots
    r = s.post("/jobs", body, "alice")
    assert r.status_code == 429 and "last 2 queue slots are kept" in r.json()["detail"]
    assert "Retry-After" in r.headers
    assert s.post("/jobs", body, "bob").status_code == 202
    assert s.post("/jobs", body, "carol").status_code == 202
    r = s.post("/jobs", body, "dave")  # the queue itself is full: everyone waits
    assert r.status_code == 503 and "queue limit 4" in r.json()["detail"]
    assert s.post("/jobs", body, "bob").status_code == 503


def test_an_existing_key_table_gains_the_quota_column(tmp_path):
    path = tmp_path / "old.db"  # a store of a MEZAN before versioned migrations: its key table has no quota
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, scope TEXT NOT NULL, "
                     "hash TEXT NOT NULL UNIQUE, rate_per_minute REAL, created REAL NOT NULL, revoked REAL);")
    from mezan.service.keys import digest

    db.execute("INSERT INTO api_keys VALUES ('old1', 'old', 'solve', ?, NULL, 1.0, NULL)", (digest("mzn_old"),))
    db.commit()
    db.close()
    keys = KeyStore(Store(path))
    assert keys.authenticate("mzn_old").quota is None
    secret, key = keys.create("solve", "new", quota=5)
    assert keys.authenticate(secret).quota == 5 and KeyStore(Store(path)).live(key.id).quota == 5  # idempotent
    with pytest.raises(Exception, match="quota must be a positive integer"):
        keys.create("solve", quota=0)


def test_keys_create_takes_a_quota(tmp_path, capsys):
    store = str(tmp_path / "mezan.db")
    assert main(["keys", "create", "--scope", "solve", "--quota", "3", "--json", "--store", store]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["quota"] == 3 and created["key"].startswith("mzn_")
    assert main(["keys", "list", "--json", "--store", store]) == 0
    assert [k["quota"] for k in json.loads(capsys.readouterr().out)] == [3]


# ---- 6: every bad value is a 4xx naming the field -----------------------------------------------------
BAD_SEEDS = [True, "1", 1.0, -1, 2**63, 2**64]
BAD_TIME_LIMITS = [True, "1", 0, -2, "inf"]


@pytest.mark.parametrize("route", ["qapflow", "workflow", "allocflow", "graphflow", "dualflow", "evoflow", "mezan"])
def test_seed_and_time_limit_are_strictly_typed_on_every_route_and_on_jobs(make_server, route):
    s = make_server()
    s.key("alice")
    example = EXAMPLES[route]
    for field, values in (("seed", BAD_SEEDS), ("time_limit", BAD_TIME_LIMITS)):
        for value in values:
            for path, body in ((f"/{route}/solve", {**example, field: value}),
                               ("/jobs", {"route": route, **example, field: value})):
                r = s.post(path, body, "alice")
                assert r.status_code == 422 and f"body.{field}" in r.text, (path, field, value, r.text)
    body = {**example, "seed": 2**63 - 1, "time_limit": 1}
    assert s.post(f"/{route}/solve", body, "alice").status_code == 200


def test_wrong_kinds_of_values_are_422_not_500(make_server):
    s = make_server()
    s.key("alice")
    for route in ([], ["qapflow"], {"x": 1}, 3, None):
        r = s.post("/jobs", {"route": route, **TINY_QAP}, "alice")
        assert r.status_code == 422 and "body.route" in r.text, route
    for matrix in ([[0, True], [1, 0]], [[0, "1"], [1, 0]]):
        r = s.post("/qapflow/solve", {**TINY_QAP, "A": matrix}, "alice")
        assert r.status_code == 422 and "body.A" in r.text
    huge = {"type": "matrix_game", "payoff": [[1e308, -1e308], [-1e308, 1e308]]}
    for path, body in (("/dualflow/solve", huge), ("/jobs", {"route": "dualflow", **huge})):
        r = s.post(path, body, "alice")
        assert r.status_code == 422 and "payoff" in r.json()["detail"], r.text
    r = s.post("/qapflow/solve", {**TINY_QAP, "A": [[0, 1e308], [1e308, 0]], "B": [[0, 1e308], [1e308, 0]]}, "alice")
    assert r.status_code == 422 and "A and B" in r.json()["detail"], r.text
    bad_sub = {"type": "composite", "subproblems": [{"id": "a", "type": "qap", **TINY_QAP, "time_limit": True}]}
    r = s.post("/mezan/solve", bad_sub, "alice")
    assert r.status_code == 422 and "time_limit" in r.json()["detail"] and "'a'" in r.json()["detail"]


def test_a_composite_reference_of_the_wrong_kind_fails_that_subproblem_only(make_server):
    s = make_server()
    s.key("alice")
    request = {"type": "composite", "subproblems": [
        {"id": "a", "type": "qap", "A": TINY_QAP["A"], "B": TINY_QAP["B"], "time_limit": 0.2},
        {"id": "b", "type": "allocation", "depends_on": "a", "budget": "$a.solution",
         "items": [{"id": "x", "cost": 1, "value": 1, "max": 1}]}]}
    r = s.post("/mezan/solve", request, "alice")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["results"]["a"]["status"] in ("optimal", "feasible") and out["results"]["b"]["status"] == "error"
    assert "subproblem 'b'" in out["results"]["b"]["reason"]


def test_an_unexpected_error_in_a_solve_is_a_bare_500_and_the_worker_lives(make_server, fake_solves):
    s = make_server(workers=1)
    s.key("alice")

    def broken():
        def run(stop, progress):
            raise RuntimeError("secret internals /usr/lib/python")
        return Work("qapflow", "qap", "fake", 1.0, None, ("n", 2), run)

    def refusing():
        def run(stop, progress):
            raise InvalidProblemError("payoff holds values beyond 1e300")
        return Work("qapflow", "qap", "fake", 1.0, None, ("n", 2), run)

    fake_solves["qapflow"] = broken
    r = s.post("/qapflow/solve", TINY_QAP, "alice")
    assert r.status_code == 500 and r.json() == {"detail": "internal error"}
    job = s.wait(s.post("/jobs", {"route": "qapflow", **TINY_QAP}, "alice").json()["id"], "alice")
    assert job["status"] == "failed" and job["error"] == "internal error in fake: RuntimeError"
    fake_solves["qapflow"] = refusing
    r = s.post("/qapflow/solve", TINY_QAP, "alice")
    assert r.status_code == 422 and r.json()["detail"] == "payoff holds values beyond 1e300"
    del fake_solves["qapflow"]
    assert s.post("/qapflow/solve", TINY_QAP, "alice").status_code == 200
    health = s.client.get("/health").json()
    assert health["workers"] == 1 and health["workers_replaced"] == 0


# ---- 3: composite requests under the caller's limits ---------------------------------------------------
def test_composite_subproblems_pass_the_same_size_check_as_direct_requests(make_server):
    s = make_server(max_size={"read": 0, "solve": 5, "admin": 8})
    s.key("alice")
    A, B = random_qap(6, 1)
    direct = s.post("/mezan/solve", {"type": "qap", "A": A, "B": B}, "alice")
    assert direct.status_code == 422 and direct.json()["detail"] == ("problem too large: n = 6 exceeds the limit of 5 "
                                                                     "for scope 'solve'")
    composite = {"type": "composite", "subproblems": [{"id": "big", "type": "qap", "A": A, "B": B}]}
    for path, body in (("/mezan/solve", composite), ("/jobs", {"route": "mezan", **composite})):
        r = s.post(path, body, "alice")
        assert r.status_code == 422, r.text
        assert "'big'" in r.json()["detail"] and "problem too large: n = 6 exceeds the limit of 5" in r.json()["detail"]
    tasks = [{"id": f"t{k}", "duration": 1, "agent": "$small.solution[0]"} for k in range(6)]
    resolved_later = {"type": "composite", "subproblems": [
        {"id": "small", "type": "qap", "A": TINY_QAP["A"], "B": TINY_QAP["B"], "time_limit": 0.2},
        {"id": "plan", "type": "workflow", "depends_on": "small", "tasks": tasks}]}
    r = s.post("/mezan/solve", resolved_later, "alice")
    assert r.status_code == 200, r.text
    plan = r.json()["results"]["plan"]
    assert plan["status"] == "error" and "problem too large: tasks = 6 exceeds the limit of 5" in plan["reason"]


def test_composite_time_limits_are_capped_like_direct_ones(make_server, monkeypatch):
    cap = Admission(100, "solve", 0.3)
    request = {"type": "composite", "subproblems": [
        {"id": "a", "type": "qap", "A": TINY_QAP["A"], "B": TINY_QAP["B"], "time_limit": 8},
        {"id": "b", "type": "qap", "A": TINY_QAP["A"], "B": TINY_QAP["B"]},
        {"id": "c", "type": "qap", "depends_on": "a", "A": TINY_QAP["A"], "B": [[0, "$a.objective"], [1, 0]],
         "time_limit": 8}]}
    work = parse("mezan", {**request, "time_limit": 0.1}, admit=cap)
    assert work.time_limit == pytest.approx(0.3 + 0.3)  # per stage, the longest capped subproblem limit
    calls = []
    original = Admission.__call__

    def spy(self, problem, time_limit):
        used = original(self, problem, time_limit)
        calls.append((float(np.asarray(problem.B)[0, 1]), time_limit, used))
        return used

    monkeypatch.setattr(Admission, "__call__", spy)
    s = make_server(max_time_limit=0.3)
    s.key("alice")
    r = s.post("/mezan/solve", request, "alice")
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text
    assert all(used <= 0.3 for _, _, used in calls)
    assert (4.0, 8, 0.3) in calls  # "c", admitted once its reference was resolved to a's objective (4)


def test_cancelling_a_composite_job_stops_it_and_keeps_its_progress(make_server):
    s = make_server()
    s.key("alice")
    A, B = random_qap(60, 3)
    request = {"route": "mezan", "type": "composite", "subproblems": [
        {"id": "long", "type": "qap", "solver": "qapflow.aggressive", "A": A, "B": B, "time_limit": 60},
        {"id": "after", "type": "qap", "depends_on": "long", "A": TINY_QAP["A"], "B": TINY_QAP["B"]}]}
    job_id = s.post("/jobs", request, "alice").json()["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = s.get(f"/jobs/{job_id}", "alice").json()
        if job["status"] == "running" and job["progress"]["best_objective"] is not None:
            break
        time.sleep(0.05)
    assert job["status"] == "running" and job["curve"]
    job = s.client.delete(f"/jobs/{job_id}", headers=s.auth("alice")).json()
    assert job["status"] == "cancelled" and job["finished"] - job["started"] < 30
    assert job["progress"]["best_objective"] is not None and job["curve"]
    assert job["result"]["results"]["after"]["status"] in ("cancelled", "skipped")


# ---- 2: the watchdog -----------------------------------------------------------------------------------
def test_a_solver_that_ignores_stop_is_failed_and_its_worker_replaced(make_server, gate, fake_solves):
    s = make_server(workers=1, stuck_grace_min=0.3, stuck_grace_factor=0.0)
    s.key("alice")
    fake_solves["qapflow"] = lambda: blocking(gate, time_limit=0.2, honours_stop=False)
    r = s.post("/qapflow/solve", TINY_QAP, "alice")
    assert r.status_code == 504 and "did not stop within its budget" in r.json()["detail"]
    health = s.client.get("/health")
    assert health.status_code == 200 and health.json()["workers"] == 1
    assert health.json()["workers_stuck"] == 1 and health.json()["workers_replaced"] == 1
    job = s.wait(s.post("/jobs", {"route": "qapflow", **TINY_QAP}, "alice").json()["id"], "alice")
    assert job["status"] == "failed" and job["error"] == STUCK and job["progress"]["best_objective"] == 5.0
    assert s.client.get("/health").json()["workers_stuck"] == 2
    del fake_solves["qapflow"]
    assert s.post("/qapflow/solve", TINY_QAP, "alice").status_code == 200  # the replacement serves
    assert "mezan_workers_stuck 2.0" in s.get("/metrics", "alice").text
    gate.set()
    deadline = time.monotonic() + 10
    while s.client.get("/health").json()["workers_stuck"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert s.client.get("/health").json()["workers_stuck"] == 0  # the abandoned threads ended; nothing re-ran


def test_a_stuck_solve_keeps_its_owners_slot_until_its_thread_ends(make_server, gate, fake_solves):
    # The watchdog fails the solve and replaces the worker, but the abandoned thread still runs: its owner may
    # not start another one in its place (one key could otherwise pile up runaway threads within its quota).
    s = make_server(workers=1, key_quota=1, stuck_grace_min=0.2, stuck_grace_factor=0.0)
    s.key("alice")
    s.key("bob")
    fake_solves["qapflow"] = lambda: blocking(gate, time_limit=0.1, honours_stop=False)
    assert s.post("/qapflow/solve", TINY_QAP, "alice").status_code == 504
    del fake_solves["qapflow"]
    refused = s.post("/qapflow/solve", TINY_QAP, "alice")
    assert refused.status_code == 429 and "quota" in refused.json()["detail"]
    assert s.post("/qapflow/solve", TINY_QAP, "bob").status_code == 200  # others are served by the replacement
    gate.set()
    deadline = time.monotonic() + 10
    while s.client.get("/health").json()["workers_stuck"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert s.post("/qapflow/solve", TINY_QAP, "alice").status_code == 200  # the thread ended: the slot is back


def test_workers_take_waiting_solves_round_robin_over_keys(tmp_path):
    # alice queues three solves, then bob one: with one worker bob's runs second, not after all of alice's.
    queue = JobQueue(Store(tmp_path / "q.db"), workers=1)
    started: list[str] = []
    gate = threading.Event()

    def work(name):
        def run(stop, progress):
            started.append(name)
            gate.wait(10)
            return Result(solution=[0, 1], objective=0.0, status="feasible")
        return Work("qapflow", "qap", "fake", 1.0, None, ("n", 2), run)

    try:
        futures = [queue.submit(work("a1"), owner="alice")[1]]
        deadline = time.monotonic() + 5
        while not started and time.monotonic() < deadline:
            time.sleep(0.01)
        futures += [queue.submit(work(name), owner="alice")[1] for name in ("a2", "a3")]
        futures.append(queue.submit(work("b1"), owner="bob")[1])
        gate.set()
        for future in futures:
            future.result(timeout=10)
        assert started == ["a1", "b1", "a2", "a3"]
    finally:
        gate.set()
        queue.close()


def test_health_is_not_ready_while_no_worker_has_been_free_for_too_long(make_server, gate, fake_solves):
    s = make_server(workers=1, health_busy_limit=0.3)
    s.key("alice")
    assert s.client.get("/health").status_code == 200
    fake_solves["qapflow"] = lambda: blocking(gate, time_limit=60)
    job_id = s.post("/jobs", {"route": "qapflow", **TINY_QAP}, "alice").json()["id"]
    s.wait(job_id, "alice", until=("running",))
    time.sleep(0.5)
    r = s.client.get("/health")
    assert r.status_code == 503 and r.json()["status"] == "degraded"
    assert any("no worker free" in reason for reason in r.json()["reasons"])
    gate.set()
    s.wait(job_id, "alice")
    assert s.client.get("/health").status_code == 200


def test_a_dead_worker_is_reported_and_replaced(tmp_path):
    queue = JobQueue(Store(tmp_path / "q.db"), workers=1)
    try:
        dead = threading.Thread(target=lambda: None)
        dead.start()
        dead.join()
        queue._threads = [dead]  # as if the worker had died
        assert queue.workers_alive() == 0
        deadline = time.monotonic() + 5
        while queue.workers_alive() < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert queue.workers_alive() == 1 and queue.replaced_lost == 1
    finally:
        queue.close(wait=1)


# ---- 7: protocol edges -----------------------------------------------------------------------------------
def test_failed_authentications_are_rate_limited_per_client_address(make_server):
    s = make_server(auth_failures_per_minute=3)
    s.key("alice")
    bad = {"Authorization": "Bearer mzn_guess"}
    codes = [s.client.get("/solvers", headers=bad).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    r = s.client.get("/jobs", headers=bad)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and "failed authentications" in r.text
    assert s.client.post("/login", data={"key": "mzn_guess"}).status_code == 429  # logins count the same
    assert s.get("/solvers", "alice").status_code == 200  # a valid key is never locked out
    assert s.client.get("/solvers").status_code == 401  # a missing key is not a guess


def test_the_page_logs_in_with_a_form_and_a_strict_session_cookie(make_server, gate, fake_solves):
    s = make_server()
    secret = s.key("alice")
    fake_solves["qapflow"] = lambda: blocking(gate)
    job_id = s.post("/jobs", {"route": "qapflow", **TINY_QAP}, "alice").json()["id"]
    form = s.client.get("/login")
    assert form.status_code == 200 and 'name=key' in form.text and 'method=post' in form.text
    r = s.client.post("/login", data={"key": secret}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("mezan_session=") and secret not in cookie
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age=1800"):
        assert attribute.lower() in cookie.lower(), cookie
    page = s.client.get("/")
    assert page.status_code == 200 and job_id in page.text and secret not in page.text and "key=" not in page.text
    assert f'href="/?job={job_id}"' in page.text
    assert s.client.get("/jobs").status_code == 401  # the cookie opens the page only, never the API
    r = s.client.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert s.client.get("/", headers={"Accept": "text/html"}, follow_redirects=False).headers["location"] == "/login"
    assert s.client.get("/").status_code == 401
    r = s.client.post("/login", data={"key": "mzn_wrong"})
    assert r.status_code == 401 and "unknown or revoked" in r.text
    assert s.client.post("/login", data={"key": secret}, headers={"Origin": "https://evil.example"}).status_code == 403
    assert s.client.post("/login", content=b"&".join([b"a=1"] * 50)).status_code == 400  # not a log-in form


def test_a_session_ends_with_its_key_or_its_lifetime(make_server):
    s = make_server()
    secret = s.key("alice")
    assert s.client.post("/login", data={"key": secret}).status_code == 200  # followed to the page
    assert s.client.get("/").status_code == 200
    s.keys.revoke(s.keys.authenticate(secret).id)
    assert s.client.get("/").status_code == 401
    now = [0.0]
    sessions = Sessions(60, clock=lambda: now[0])
    session = sessions.create("k1")
    assert sessions.key_id(session) == "k1" and sessions.key_id("forged") is None
    now[0] = 61
    assert sessions.key_id(session) is None


def test_an_old_key_link_trades_the_key_for_a_cookie_and_drops_it_from_the_url(make_server):
    s = make_server()
    secret = s.key("alice")
    r = s.client.get(f"/?key={secret}&job=abc", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?job=abc" and "mezan_session=" in r.headers["set-cookie"]
    assert s.client.get("/?key=mzn_wrong&job=abc", follow_redirects=False).status_code == 401
    # A link on another site does not log the browser in (login CSRF): it is sent to the form, key dropped.
    r = s.client.get(f"/?key={secret}", headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login" and "set-cookie" not in r.headers


def test_the_login_form_refuses_posts_from_other_origins(make_server):
    s = make_server()
    secret = s.key("alice")
    for headers in ({"Origin": "null"}, {"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        r = s.client.post("/login", content=f"key={secret}", follow_redirects=False,
                          headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
        assert r.status_code == 403 and "set-cookie" not in r.headers, headers
    r = s.client.post("/login", content=f"key={secret}", follow_redirects=False,
                      headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://testserver",
                               "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 303 and "mezan_session=" in r.headers["set-cookie"]


def test_html_responses_carry_the_security_headers(make_server):
    s = make_server()
    s.key("alice")
    for r in (s.get("/", "alice"), s.client.get("/login")):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-content-type-options"] == "nosniff"
    docs = s.client.get("/docs")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    for r in (s.get("/solvers", "alice"), s.client.get("/health"), s.client.get("/jobs")):
        assert r.headers["x-content-type-options"] == "nosniff"


def test_the_log_filter_redacts_keys():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/?job=1&key=mzn_abc-DEF_1&x=2", "1.1", 303), None)
    RedactKeys().filter(record)
    line = record.getMessage()
    assert "mzn_abc" not in line and "key=[redacted]&x=2" in line
    assert redact("Authorization: Bearer sk-123 and mzn_q") == "Authorization: Bearer [redacted] and mzn_[redacted]"


def test_a_chunked_body_over_the_limit_gets_413_in_the_test_client(make_server):
    s = make_server(max_body_bytes=2000)
    s.key("alice")
    A, B = random_qap(40, 0)
    payload = json.dumps({"A": A, "B": B}).encode()

    def chunks():
        for k in range(0, len(payload), 500):
            yield payload[k:k + 500]

    r = s.client.post("/qapflow/solve", content=chunks(), headers=s.auth("alice") | {"Content-Type":
                                                                                    "application/json"})
    assert r.status_code == 413 and "2000 bytes" in r.json()["detail"]


# ---- real servers: chunked and slow bodies, clients that go away, the access log ----------------------------
def raw_request(port, head: bytes, body_parts=(), timeout=20.0) -> tuple[bytes, bool]:
    """Send a raw request (head, then each body part); return (everything the server sent, whether it closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            for part in body_parts:
                sock.sendall(part)
        except OSError:  # the server answered and closed while we were still sending
            pass
        received, closed = b"", False
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    closed = True
                    break
                received += data
        except (TimeoutError, ConnectionResetError):
            closed = isinstance(received, bytes) and received != b""
        return received, closed


def get_json(port, path, key=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


@pytest.fixture
def real_server(tmp_path):
    procs = []

    def start(*extra):
        store = tmp_path / f"mezan{len(procs)}.db"
        key = KeyStore(Store(store)).create("solve", "raw")[0]
        port = free_port()
        procs.append(start_server(store, port, *extra))
        return port, key, procs[-1]

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=20)


def test_bodies_too_large_or_too_slow_are_refused_and_the_connection_closed(real_server):
    port, key, _ = real_server("--max-body", "2000", "--body-timeout", "1")
    head = (f"POST /qapflow/solve HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"3e8\r\n" + b" " * 1000 + b"\r\n"
    received, closed = raw_request(port, head, [chunk] * 5 + [b"0\r\n\r\n"])
    assert received.startswith(b"HTTP/1.1 413") and b"2000 bytes" in received and closed
    head = (f"POST /qapflow/solve HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n").encode()
    received, closed = raw_request(port, head, [b'{"A": [[0'])  # and then nothing
    assert received.startswith(b"HTTP/1.1 408") and b"not received within 1 s" in received and closed
    assert get_json(port, "/health")[0] == 200


def test_a_synchronous_solve_is_dropped_or_stopped_when_its_client_goes_away(real_server):
    port, key, _ = real_server()
    A, B = random_qap(60, 2)
    body = json.dumps({"A": A, "B": B, "mode": "aggressive", "time_limit": 60}).encode()
    head = (f"POST /qapflow/solve HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()

    def health_until(condition, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = json.loads(get_json(port, "/health")[1])
            if condition(state):
                return state
            time.sleep(0.05)
        raise AssertionError(f"health stayed {state}")

    running = socket.create_connection(("127.0.0.1", port))
    running.sendall(head + body)
    health_until(lambda h: h["in_flight"] == 1)
    queued = socket.create_connection(("127.0.0.1", port))
    queued.sendall(head + body)
    health_until(lambda h: h["queue_depth"] == 1)
    queued.close()
    health_until(lambda h: h["queue_depth"] == 0 and h["in_flight"] == 1)  # dropped before it started
    running.close()
    health_until(lambda h: h["in_flight"] == 0)  # stopped long before its 60 s
    status, metrics = get_json(port, "/metrics", key)
    assert status == 200
    assert 'mezan_solves_total{solver="qapflow.aggressive",status="cancelled"}' in metrics.decode()


def test_keys_never_reach_the_access_log(real_server):
    port, key, proc = real_server()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", f"/?job=abc&key={key}")
    r = conn.getresponse()
    r.read()
    assert r.status == 303 and r.getheader("Location") == "/?job=abc" and key not in r.getheader("Set-Cookie")
    conn.request("GET", "/solvers", headers={"Authorization": f"Bearer {key}"})
    conn.getresponse().read()
    conn.close()
    time.sleep(0.3)  # the access log line is written after the response
    log = Path(proc.log).read_text()
    assert key not in log and key[4:] not in log and "key=[redacted]" in log, log[-2000:]


def test_failure_buckets_of_many_addresses_do_not_grow_without_bound():
    from mezan.service.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0], keep=3)
    for address in ("a", "b", "c"):
        limiter.take(address, 20)
    now[0] = 61.0  # a minute on, their buckets are full again: the same as none
    limiter.take("d", 20)
    assert len(limiter) == 1


def test_the_new_limits_are_checked_when_the_server_is_configured():
    from mezan.errors import InvalidParameterError

    for bad in ({"reserved_slots": 64}, {"reserved_slots": -1}, {"key_quota": 0}, {"body_timeout": 0},
                {"stuck_grace_factor": -1}, {"health_busy_limit": float("nan")}, {"auth_failures_per_minute": True}):
        with pytest.raises(InvalidParameterError, match=next(iter(bad))):
            ServiceConfig(**bad)
    config = ServiceConfig(queue_limit=64, max_time_limit=10, stuck_grace_min=5, stuck_grace_factor=0.5)
    assert config.reserve() == 16 and config.grace(4) == 5 and config.grace(20) == 10 and config.busy_limit() == 15


def test_a_key_from_a_package_logger_is_redacted_by_the_handlers():
    # A filter on the "mezan" logger does not see records of its children; the handlers' filters do.
    from mezan.service.protocol import install_log_redaction

    handler = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(handler)
    try:
        install_log_redaction()
        logging.getLogger("mezan.service.jobs").warning("key mzn_abcdefghijklmnop in a message")
        assert "mzn_abcdefghijklmnop" not in handler.stream.getvalue()
        assert "in a message" in handler.stream.getvalue()
    finally:
        logging.getLogger().removeHandler(handler)


def test_limits_that_would_break_the_server_are_refused_at_configuration():
    with pytest.raises(InvalidParameterError, match="rate_per_minute"):
        ServiceConfig(rate_per_minute=math.inf)
    with pytest.raises(InvalidParameterError, match="missing: read, solve, admin"):
        ServiceConfig(max_size={})
    with pytest.raises(InvalidParameterError, match="rate_per_minute"):
        KeyStore(Store(Path(tempfile.mkdtemp()) / "k.db")).create("solve", rate_per_minute=math.inf)


# ---- Host names (issue 34, class 7): DNS rebinding ------------------------------------------------------------------
def test_a_request_naming_the_server_by_another_name_gets_400_even_without_auth(make_server):
    s = make_server(auth=False)  # --no-auth: every request would be an admin
    for host in ("evil.example", "evil.example:8080", "127.0.0.1.evil.example", "2130706433"):
        r = s.client.get("/jobs", headers={"Host": host})
        assert r.status_code == 400, host
        detail = r.json()["detail"]
        assert "is not a name of this server" in detail and "--allowed-host" in detail and "DNS rebinding" in detail
    for host in ("a b", "[::1", "evil.example:http", "x" * 500):
        r = s.client.get("/jobs", headers={"Host": host})
        assert r.status_code == 400 and "malformed Host header" in r.json()["detail"], host
    r = s.client.post("/qapflow/solve", json=TINY_QAP, headers={"Host": "evil.example"})
    assert r.status_code == 400 and s.app.state.queue.depth() == 0  # nothing ran
    for host in ("localhost", "LOCALHOST:8080", "localhost.", "127.0.0.1:1", "[::1]:8080", "[0:0:0:0:0:0:0:1]",
                 "testserver"):  # TestClient's server address: a connection's own address is always its name
        assert s.client.get("/jobs", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_add_names_and_bad_names_are_refused_by_name(make_server, capsys):
    s = make_server(auth=False, host="0.0.0.0", allowed_hosts=("Mezan.Example.org.", "10.0.0.7"))
    assert s.app.state.config.host_names() == {"localhost", "127.0.0.1", "::1", "mezan.example.org", "10.0.0.7"}
    for host in ("mezan.example.org", "mezan.example.org:443", "10.0.0.7:8080"):
        assert s.client.get("/jobs", headers={"Host": host}).status_code == 200, host
    assert s.client.get("/jobs", headers={"Host": "other.example.org"}).status_code == 400
    assert ServiceConfig(host="mezan.lan").host_names() >= {"mezan.lan"}  # bound to a name: that name
    for bad in ("http://mezan.example.org", "mezan.example.org:80", "*", "a/b", "", 5):
        with pytest.raises(InvalidParameterError, match=r"allowed_hosts \(--allowed-host"):
            ServiceConfig(allowed_hosts=(bad,))
    with pytest.raises(InvalidParameterError, match="allowed_hosts"):
        ServiceConfig(allowed_hosts="mezan.example.org")  # a string is not a list of names
    assert main(["serve", "--allowed-host", "http://x", "--store", str(s.store.path)]) == 2
    assert "'http://x' is not a host name" in capsys.readouterr().err


def test_the_login_origin_is_checked_against_the_allowed_names_not_the_host(make_server):
    s = make_server(allowed_hosts=("mezan.example.org",))
    secret = s.key("alice")
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def login(**headers):
        return s.client.post("/login", content=f"key={secret}", follow_redirects=False, headers={**form, **headers})

    for origin in ("http://localhost:8080", "https://mezan.example.org", "http://[::1]:8080"):
        r = login(Origin=origin, Host="localhost:8080")
        assert r.status_code == 303 and "mezan_session=" in r.headers["set-cookie"], origin
    for origin in ("https://evil.example", "http://evil.example:8080", "null", "file://", "http://[::1",
                   "http://localhost:99999", "javascript:alert(1)"):
        assert login(Origin=origin, Host="localhost:8080").status_code == 403, origin
    # the old check compared Origin with Host: a rebinding page set both; the Host check turns it away first
    assert login(Origin="http://evil.example:8080", Host="evil.example:8080").status_code == 400


def test_a_real_no_auth_server_answers_only_to_its_names(real_server):
    port, _, _ = real_server("--no-auth", "--allowed-host", "mezan.test")

    def status(host):
        head = f"GET /jobs HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        return raw_request(port, head)[0].split(b"\r\n", 1)[0]

    assert status("evil.example").startswith(b"HTTP/1.1 400")
    assert status(f"evil.example:{port}").startswith(b"HTTP/1.1 400")
    assert status(f"127.0.0.1:{port}\r\nHost: evil.example").startswith(b"HTTP/1.1 400")  # two: neither is trusted
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "mezan.test"):
        assert status(host).startswith(b"HTTP/1.1 200"), host


# ---- --server URLs (issue 34, class 8) ------------------------------------------------------------------------------
def test_a_malformed_server_url_is_a_one_line_error_naming_the_option(capsys):
    for url in ("http://[::1", "http://[::1]:80x", "ftp://127.0.0.1", "http://", "127.0.0.1:8080",
                "http://127.0.0.1:0", "http://u:p@127.0.0.1"):
        for argv in (["jobs", "status", "abc"], ["jobs", "cancel", "abc"]):
            assert main([*argv, "--server", url]) == 2, url
            err = capsys.readouterr().err.strip()
            assert err.startswith("mezan: error: --server:") and "\n" not in err, err
    port = free_port()  # nothing listens: a clear error too, and the job id stays one path segment
    assert main(["jobs", "status", "../../health?x", "--server", f"http://127.0.0.1:{port}/"]) != 0
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}/jobs/..%2F..%2Fhealth%3Fx: cannot reach the server" in err and "Traceback" not in err
