"""Several real `mezan serve` replicas on one PostgreSQL database (a throwaway server, tests/pg_server.py) behave as one
service: keys, sessions, rate limits and jobs are shared; a replica SIGKILLed mid-job loses nothing and runs nothing
twice; the database paused (SIGSTOP/SIGCONT) or restarted under load leaves every client with an answer or a 503."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from pg_server import postgres  # noqa: F401 - the fixture (one server per worker)

from mezan.service.keys import KeyStore
from mezan.store import Store

from conftest import free_port

LEASE = 1.5  # seconds: short, so that a dead replica's jobs are taken within the test


class Replica:
    """One `mezan serve` process on the shared database."""

    def __init__(self, url: str, home: Path, name: str) -> None:
        self.port = free_port()
        self.log = home / f"replica-{name}.log"
        env = {**os.environ, "MEZAN_HOME": str(home), "MEZAN_STORE_TIMEOUT": "2", "MEZAN_STORE_POOL": "6"}
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "mezan.cli", "serve", "--port", str(self.port),
                                          "--store", url, "--workers", "1", "--job-lease", str(LEASE)],
                                         stdout=out, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if call(self, "GET", "/health", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.1)
        raise AssertionError(f"replica did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def call(replica: Replica, method: str, path: str, key: str | None = None, body: object = None,
         headers: dict[str, str] | None = None, timeout: float = 30.0) -> tuple[int, dict[str, str], object]:
    """One request: (status, headers, the JSON body or the text)."""
    conn = http.client.HTTPConnection("127.0.0.1", replica.port, timeout=timeout)
    sent = {**({"Authorization": f"Bearer {key}"} if key else {}), **(headers or {})}
    data = None
    if isinstance(body, (dict, list)):
        data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
    elif isinstance(body, str):
        data = body.encode()
    try:
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        content: object = json.loads(raw)
    except ValueError:
        content = raw.decode(errors="replace")
    return response.status, {k.lower(): v for k, v in response.getheaders()}, content


def qap_body(n: int, time_limit: float, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    A, B = rng.integers(0, 10, (2, n, n)).tolist()
    return {"A": A, "B": B, "mode": "aggressive", "time_limit": time_limit, "seed": seed}


def wait_for(predicate, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@pytest.fixture
def cluster(postgres, tmp_path):  # noqa: F811 - the fixture
    """Three replicas started at once on a new database (so their migrations race): two that live, one to kill."""
    url = postgres.new_database()
    replicas = [Replica(url, tmp_path, name) for name in ("a", "b", "doomed")]
    try:
        for r in replicas:
            r.wait_ready()
        yield {"url": url, "home": tmp_path, "replicas": replicas[:2], "doomed": replicas[2], "server": postgres}
    finally:
        for r in replicas:
            r.stop()


def new_key(url: str, scope: str = "solve", **limits) -> tuple[str, str]:
    secret, key = KeyStore(Store(url)).create(scope, **limits)
    return secret, key.id


def test_replicas_on_one_database_behave_as_one_service(cluster):
    """One test, so that one worker starts the replicas once (each part is a function below, run in order; the
    database faults come last)."""
    keys_sessions_and_limits_are_shared_by_every_replica(cluster)
    a_job_sent_to_one_replica_is_seen_and_cancelled_on_another(cluster)
    a_replica_killed_mid_job_loses_nothing_and_runs_nothing_twice(cluster)
    the_database_paused_or_restarted_under_load_leaves_every_client_an_answer(cluster)


def keys_sessions_and_limits_are_shared_by_every_replica(cluster):
    a, b = cluster["replicas"]
    url = cluster["url"]
    assert Store(url).query("SELECT version FROM schema_version ORDER BY version") == [(1,), (2,), (3,)]  # once each
    secret, key_id = new_key(url)
    assert [call(r, "GET", "/solvers", secret)[0] for r in (a, b)] == [200, 200]
    # a session made on one replica works on the other, and logging out on it ends it everywhere
    status, headers, _ = call(a, "POST", "/login", body=f"key={secret}",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303, headers
    cookie = headers["set-cookie"].split(";")[0]
    assert call(b, "GET", "/", headers={"Cookie": cookie, "Accept": "text/html"})[0] == 200
    assert call(b, "POST", "/logout", headers={"Cookie": cookie})[0] == 303
    assert call(a, "GET", "/", headers={"Cookie": cookie, "Accept": "text/html"})[0] in (303, 401)
    # revoked through the store: refused by both at their next request
    KeyStore(Store(url)).revoke(key_id)
    assert [call(r, "GET", "/solvers", secret)[0] for r in (a, b)] == [401, 401]
    # one bucket per key across replicas: 6 per minute, spent alternately on a and b
    limited, _ = new_key(url, rate_per_minute=6)
    codes = [call((a, b)[k % 2], "GET", "/solvers", limited)[0] for k in range(8)]
    assert codes == [200] * 6 + [429] * 2
    # failed authentications per client address, counted across replicas (20 per minute by default)
    failures = [call((a, b)[k % 2], "GET", "/solvers", f"mzn_wrong{k}")[0] for k in range(22)]
    first = failures.index(429)  # this address spent 2 of its 20 on the revoked key; a token refills every 3 s
    assert failures[:first] == [401] * first and set(failures[first:]) == {429} and 18 <= first <= 20, failures


def a_job_sent_to_one_replica_is_seen_and_cancelled_on_another(cluster):
    a, b = cluster["replicas"]
    secret, _ = new_key(cluster["url"], quota=1)
    status, _, created = call(a, "POST", "/jobs", secret, {"route": "qapflow", **qap_body(40, 30)})
    assert status == 202, created
    job_id = created["id"]

    def running_with_progress():
        job = call(b, "GET", f"/jobs/{job_id}", secret)[2]
        return job if job["status"] == "running" and job["progress"]["best_objective"] is not None else None
    seen = wait_for(running_with_progress, 15, "the job's progress on the other replica")
    assert seen["curve"]
    # its quota of one solve at a time holds on the other replica too, for jobs and direct solves alike
    status, headers, refused = call(b, "POST", "/jobs", secret, {"route": "qapflow", **qap_body(8, 0.1)})
    assert status == 429 and "quota exceeded" in refused["detail"] and "retry-after" in headers
    assert call(b, "POST", "/qapflow/solve", secret, qap_body(8, 0.1))[0] == 429
    status, _, cancelled = call(b, "DELETE", f"/jobs/{job_id}", secret)  # a, not b, runs it
    assert status == 200 and cancelled["status"] == "cancelled", cancelled
    assert cancelled["result"] is not None and cancelled["progress"]["best_objective"] is not None  # best kept
    assert cancelled["progress"]["elapsed"] < 25
    assert call(a, "GET", f"/jobs/{job_id}", secret)[2]["status"] == "cancelled"
    assert call(b, "GET", "/jobs", secret)[2][0]["id"] == job_id
    assert call(b, "POST", "/qapflow/solve", secret, qap_body(8, 0.1))[0] == 200  # its slot was given back


def a_replica_killed_mid_job_loses_nothing_and_runs_nothing_twice(cluster):
    url, survivors, doomed = cluster["url"], cluster["replicas"], cluster["doomed"]
    secret, _ = new_key(url, quota=8)
    running = call(doomed, "POST", "/jobs", secret, {"route": "qapflow", **qap_body(40, 30)})[2]["id"]
    queued = [call(doomed, "POST", "/jobs", secret, {"route": "qapflow", **qap_body(12, 0.3, seed)})[2]["id"]
              for seed in range(1, 4)]  # behind the long one: its one worker is busy
    wait_for(lambda: call(survivors[0], "GET", f"/jobs/{running}", secret)[2]["progress"]["best_objective"]
             is not None, 15, "progress of the running job")
    time.sleep(0.6)  # past one more progress write
    doomed.proc.send_signal(signal.SIGKILL)
    doomed.proc.wait()

    def ended():
        jobs = [call(survivors[0], "GET", f"/jobs/{j}", secret)[2] for j in (running, *queued)]
        return jobs if all(j["status"] not in ("queued", "running") for j in jobs) else None
    jobs = wait_for(ended, 20, "the dead replica's jobs to be taken over")
    lost, *taken = jobs
    assert lost["status"] == "interrupted" and "best-so-far is kept" in lost["error"]
    assert lost["progress"]["best_objective"] is not None and lost["curve"]
    assert [j["status"] for j in taken] == ["done"] * 3 and all(j["result"]["objective"] > 0 for j in taken)
    rows = Store(url).query(f"SELECT id, attempts, replica FROM jobs WHERE id IN ({', '.join('?' * 4)})",
                            (running, *queued))
    attempts = {job_id: n for job_id, n, _ in rows}
    assert attempts[running] == 1 and all(attempts[j] == 1 for j in queued)  # each started once, and only once
    assert all(replica.split(":")[1] != str(doomed.proc.pid) for job_id, _, replica in rows if job_id in queued)


def test_two_replicas_racing_for_the_jobs_of_a_dead_one_each_take_different_jobs(postgres):  # noqa: F811
    """Two job queues (two replicas' worth) reap the same orphaned jobs at once: every queued job is claimed by
    exactly one (PostgreSQL's SELECT ... FOR UPDATE SKIP LOCKED) and runs once; the one that was running is marked
    interrupted once, its best kept."""
    from mezan.service.jobs import JobQueue
    from mezan.service.routes import parse

    url = postgres.new_database()
    store = Store(url)
    orphans = [f"orphan{k}" for k in range(12)]
    body = qap_body(8, 0.05, 0)

    def resume(route, body, owner):
        return parse(route, body)
    queues = [JobQueue(Store(url), workers=1, lease=LEASE, resume=resume) for _ in range(2)]
    with store.transaction() as db:  # the jobs of a replica that died (on another machine, its lease run out)
        for job_id in orphans:
            db.execute("INSERT INTO jobs (id, route, solver, status, created, curve, owner, replica, lease_until, "
                       "body) VALUES (?, 'qapflow', 'qap', 'queued', ?, '[]', NULL, 'gone:1:x', 0, ?)",
                       (job_id, time.time(), json.dumps(body)))
        db.execute("INSERT INTO jobs (id, route, solver, status, created, started, best, elapsed, curve, owner, "
                   "replica, lease_until, body, attempts) VALUES ('started', 'qapflow', 'qap', 'running', ?, ?, 77, "
                   "1.5, '[[0.5, 80], [1.5, 77]]', NULL, 'gone:1:x', 0, ?, 1)",
                   (time.time(), time.time(), json.dumps(body)))
    try:
        barrier = threading.Barrier(2)

        def race(queue):
            barrier.wait()
            queue.reap()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(race, queues))
        wait_for(lambda: all(r[0] == "done" for r in store.query(
            f"SELECT status FROM jobs WHERE id IN ({', '.join('?' * len(orphans))})", orphans)), 20, "the orphans")
    finally:
        for queue in queues:
            queue.close()
    rows = store.query(f"SELECT replica, attempts FROM jobs WHERE id IN ({', '.join('?' * len(orphans))})", orphans)
    assert sum(q.taken_over for q in queues) == len(orphans)  # none twice, none left
    assert {replica for replica, _ in rows} <= {q.replica for q in queues} and all(n == 1 for _, n in rows)
    started = store.query("SELECT status, best, curve, attempts, error FROM jobs WHERE id = 'started'")[0]
    assert started[:4] == ("interrupted", 77.0, "[[0.5, 80], [1.5, 77]]", 1) and "best-so-far is kept" in started[4]


def _load(replicas, secret, seconds: float) -> list[int]:
    """Clients sending tiny solves to the replicas for ``seconds``: the status of every answer, each 503 with its
    Retry-After (a client never waits past its own timeout: a missing answer fails the test)."""
    statuses: list[int] = []
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        while time.monotonic() < stop:
            status, headers, _ = call(replicas[k % len(replicas)], "POST", "/qapflow/solve", secret,
                                      qap_body(6, 0.05, k), timeout=30)
            assert status != 503 or "retry-after" in headers
            statuses.append(status)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(client, range(4)))
    return statuses


def the_database_paused_or_restarted_under_load_leaves_every_client_an_answer(cluster):
    replicas, server = cluster["replicas"], cluster["server"]
    secret, _ = new_key(cluster["url"], rate_per_minute=100000)
    with ThreadPoolExecutor(1) as pool:
        load = pool.submit(_load, replicas, secret, 2.5)
        time.sleep(0.5)
        pids = server.pause()  # a network pause: nothing the database holds answers
        time.sleep(1.5)
        server.resume(pids)
        paused = load.result()
    assert paused and set(paused) <= {200, 503} and paused.count(200) >= 1, paused
    with ThreadPoolExecutor(1) as pool:
        load = pool.submit(_load, replicas, secret, 2.5)
        time.sleep(0.5)
        server.restart()
        restarted = load.result()
    assert restarted and set(restarted) <= {200, 503}, restarted
    assert wait_for(lambda: all(call(r, "GET", "/solvers", secret)[0] == 200 for r in replicas), 10,
                    "every replica serving again after the restart")
