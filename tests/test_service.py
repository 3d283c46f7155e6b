"""The HTTP service: every route, every error code, jobs, metrics, keys, limits (FastAPI's TestClient)."""

import itertools
import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from mezan.service import ServiceConfig, create_app
from mezan.service.keys import KeyStore
from mezan.service.schemas import EXAMPLES
from mezan.store import Store


def qap_objective(A, B, p):
    A, B, p = np.asarray(A), np.asarray(B), np.asarray(p)
    return float((A * B[np.ix_(p, p)]).sum())


def random_qap(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 10, (n, n))
    B = rng.integers(0, 10, (n, n))
    np.fill_diagonal(A, 0)
    np.fill_diagonal(B, 0)
    return A.tolist(), B.tolist()


class Server:
    """An app on its own store, with one key per scope."""

    def __init__(self, tmp_path, **config):
        self.store = Store(tmp_path / "service.db")
        self.app = create_app(ServiceConfig(**({"workers": 2} | config)), self.store)
        self.client = TestClient(self.app)
        keys = KeyStore(self.store)
        self.secret = {scope: keys.create(scope)[0] for scope in ("read", "solve", "admin")}

    def auth(self, scope="solve"):
        return {"Authorization": f"Bearer {self.secret[scope]}"}

    def post(self, path, body, scope="solve", **kw):
        return self.client.post(path, json=body, headers=self.auth(scope), **kw)

    def get(self, path, scope="read"):
        return self.client.get(path, headers=self.auth(scope))

    def wait(self, job_id, until=("done", "failed", "cancelled", "interrupted"), timeout=30, scope="solve"):
        """Poll a job (as the key that created it: jobs are private to it and admins)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"/jobs/{job_id}", scope=scope).json()
            if job["status"] in until:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.app.state.queue.close()


def test_qapflow_solve_answers_in_the_original_form(server):
    A, B = random_qap(7, 1)
    r = server.post("/qapflow/solve", {"A": A, "B": B, "mode": "auto", "time_limit": 2, "seed": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body["solution"]) == list(range(7))
    assert body["objective"] == qap_objective(A, B, body["solution"])
    assert body["objective"] == min(qap_objective(A, B, p) for p in itertools.permutations(range(7)))
    assert body["backend"] == "mezan-core" and body["mode"] == "bnb" and body["status"] == "optimal"
    assert body["bounds"]["lower"] == body["bounds"]["upper"] == body["objective"]
    assert body["wall_time"] >= 0 and "branch and bound" in body["explanation"]
    # the original design's names, kept for one release (deprecated)
    assert body["objective_value"] == body["objective"] and body["computation_time"] == body["wall_time"]
    assert int(r.headers["X-RateLimit-Limit"]) == 120 and int(r.headers["X-RateLimit-Remaining"]) == 119


def brute_tsp(D):
    n = len(D)
    return min(sum(D[p[i]][p[(i + 1) % n]] for i in range(n)) for p in itertools.permutations(range(n)))


@pytest.mark.parametrize("route", ["workflow", "allocflow", "graphflow", "dualflow", "evoflow", "mezan"])
def test_every_wire_route_solves_its_documented_example(server, route):
    r = server.post(f"/{route}/solve", EXAMPLES[route])
    assert r.status_code == 200, r.text
    out = r.json()
    expected = {
        "workflow": lambda o: o["objective"] == 8 and o["solution"] == {"design": 0, "build": 3},
        "allocflow": lambda o: o["objective"] == 15 and o["solution"] == {"a": 1, "b": 1, "c": 0},
        "graphflow": lambda o: o["objective"] == 35 and o["solution"] == [["plant", "city"]],
        "dualflow": lambda o: abs(o["objective"]) < 1e-9 and np.allclose(o["solution"], [1 / 3] * 3),
        "evoflow": lambda o: (o["objective"] == brute_tsp(EXAMPLES["evoflow"]["D"])
                              and sorted(o["solution"]) == [0, 1, 2, 3]),
        "mezan": lambda o: o["objective"] == qap_objective(EXAMPLES["mezan"]["A"], EXAMPLES["mezan"]["B"],
                                                           o["solution"]) and "MetaFlow" in o["explanation"],
    }[route]
    assert expected(out), out


def test_mezan_route_runs_a_composite_request_and_records_single_solves(server):
    request = json.loads((Path(__file__).resolve().parents[1] / "examples" / "composite" / "request.json").read_text())
    r = server.post("/mezan/solve", request)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "ok" and out["stages"] == [["assignment"], ["scheduling"], ["budget"]]
    before = server.store.count_solves()
    assert server.post("/mezan/solve", EXAMPLES["mezan"]).status_code == 200
    assert server.store.count_solves() == before + 1


def test_health_is_open_and_the_rest_needs_a_key(server):
    h = server.client.get("/health")
    assert h.status_code == 200 and h.json()["status"] == "ok" and h.json()["store"] and h.json()["workers"] == 2
    for method, path in (("get", "/solvers"), ("get", "/metrics"), ("get", "/jobs/x"), ("get", "/"),
                         ("post", "/qapflow/solve"), ("post", "/jobs"), ("delete", "/jobs/x")):
        r = getattr(server.client, method)(path)
        assert r.status_code == 401 and "missing API key" in r.json()["detail"], (path, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"
    r = server.client.get("/solvers", headers={"Authorization": "Bearer mzn_not-a-key"})
    assert r.status_code == 401 and "unknown or revoked" in r.json()["detail"]


def test_scopes_allow_what_they_name(server):
    body = {"A": [[0, 1], [1, 0]], "B": [[0, 2], [2, 0]], "time_limit": 0.1}
    r = server.post("/qapflow/solve", body, scope="read")
    assert r.status_code == 403 and "needs scope 'solve'" in r.json()["detail"]
    assert server.post("/qapflow/solve", body, scope="solve").status_code == 200
    assert server.post("/qapflow/solve", body, scope="admin").status_code == 200
    r = server.get("/solvers", scope="read")
    assert r.status_code == 200
    solvers = r.json()["solvers"]
    assert "qapflow.auto" in {s["name"] for s in solvers["qap"]} and "workflow.schedule" in {
        s["name"] for s in solvers["workflow"]}


def test_revoked_key_gets_401(server, tmp_path):
    keys = KeyStore(server.store)
    secret, key = keys.create("solve", "temp")
    assert server.client.get("/solvers", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    keys.revoke(key.id)
    r = server.client.get("/solvers", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401
    stored = server.store.query("SELECT hash FROM api_keys WHERE id = ?", (key.id,))[0][0]
    assert secret not in stored and len(stored) == 64  # only the sha256 is stored


def test_malformed_requests_get_422_naming_the_field(server):
    h = server.auth() | {"Content-Type": "application/json"}
    r = server.client.post("/qapflow/solve", content=b'{"A": [[0, 1], ', headers=h)
    assert r.status_code == 422 and "JSON" in json.dumps(r.json())
    cases = [
        ({"B": [[0]]}, "body.A"),
        ({"A": [[0, 1], [1, 0]], "B": "x"}, "body.B"),
        ({"A": [[0, 1], [1, 0]], "B": [[0, 1], [1, 0]], "time_limit": -1}, "body.time_limit"),
        ({"A": [[0, 1], [1, 0]], "B": [[0, 1], [1, 0]], "mode": "fastest"}, "body.mode"),
        ({"A": [[0, 1], [1, 0]], "B": [[0, 1], [1, 0]], "seed": -3}, "body.seed"),
    ]
    for body, field in cases:
        r = server.post("/qapflow/solve", body)
        assert r.status_code == 422 and field in [d["field"] for d in r.json()["detail"]], (body, r.text)
    r = server.post("/qapflow/solve", {"A": [[0, 1], [1, 0]], "B": [[0, 1, 2], [1, 0, 2], [1, 1, 0]]})
    assert r.status_code == 422 and "B" in r.json()["detail"]
    r = server.post("/workflow/solve", {"type": "workflow", "tasks": [{"id": "a", "duration": -2}]})
    assert r.status_code == 422 and "duration" in r.json()["detail"]
    r = server.post("/dualflow/solve", {"type": "workflow", "tasks": []})
    assert r.status_code == 422 and "type" in json.dumps(r.json())
    r = server.post("/allocflow/solve", {**EXAMPLES["allocflow"], "solver": "qap.rots"})
    assert r.status_code == 422 and "registered allocation solver" in r.json()["detail"]
    r = server.post("/evoflow/solve", {"type": "tsp", "D": [[0, 1], [1]]})
    assert r.status_code == 422 and "D must be a non-empty square matrix" in r.json()["detail"]


def test_no_stack_trace_reaches_a_response(server, monkeypatch):
    import mezan.service.routes

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals /usr/lib/python")

    monkeypatch.setattr(mezan.service.routes, "solve", broken)  # the QAP solve the qapflow route calls
    r = server.post("/qapflow/solve", {"A": [[0, 1], [1, 0]], "B": [[0, 1], [1, 0]]})
    assert r.status_code == 500 and r.json() == {"detail": "internal error"}
    assert "Traceback" not in r.text and "secret" not in r.text
    assert server.client.get("/health").status_code == 200  # the server lives on


def test_body_size_problem_size_and_time_limits(tmp_path):
    s = Server(tmp_path, max_body_bytes=2000, max_size={"read": 0, "solve": 5, "admin": 8}, max_time_limit=0.2)
    try:
        A, B = random_qap(40, 0)
        r = s.post("/qapflow/solve", {"A": A, "B": B})
        assert r.status_code == 413 and "2000 bytes" in r.json()["detail"]
        A, B = random_qap(6, 0)
        r = s.post("/qapflow/solve", {"A": A, "B": B})
        assert r.status_code == 422 and r.json()["detail"] == ("problem too large: n = 6 exceeds the limit of 5 for "
                                                               "scope 'solve'")
        r = s.post("/qapflow/solve", {"A": A, "B": B, "time_limit": 1000, "mode": "hybrid"}, scope="admin")
        assert r.status_code == 200 and r.json()["wall_time"] < 2.0  # capped to 0.2 s
        r = s.post("/workflow/solve", {"type": "workflow", "tasks": [{"id": f"t{k}", "duration": 1}
                                                                      for k in range(6)]})
        assert r.status_code == 422 and "tasks = 6 exceeds the limit of 5" in r.json()["detail"]
    finally:
        s.app.state.queue.close()


def test_rate_limit_is_a_token_bucket_per_key(tmp_path):
    s = Server(tmp_path, rate_per_minute=3)
    try:
        codes = [s.get("/solvers").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = s.get("/solvers")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.headers["X-RateLimit-Limit"] == "3" and r.headers["X-RateLimit-Remaining"] == "0"
        assert s.get("/solvers", scope="admin").status_code == 200  # another key has its own bucket
        secret, _ = KeyStore(s.store).create("read", rate_per_minute=600)
        ok = [s.client.get("/solvers", headers={"Authorization": f"Bearer {secret}"}).status_code for _ in range(6)]
        assert ok == [200] * 6  # a key's own limit beats the server's
    finally:
        s.app.state.queue.close()


def test_token_bucket_refills_with_time():
    from mezan.service.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.take("k", 60).allowed for _ in range(61)] == [True] * 60 + [False]
    denied = limiter.take("k", 60)
    assert not denied.allowed and 0 < denied.retry_after <= 1.0
    now[0] += 1.0  # 60 per minute = one token per second
    assert limiter.take("k", 60).allowed and not limiter.take("k", 60).allowed


def test_jobs_progress_cancel_and_keep_the_best(server):
    A, B = random_qap(60, 3)
    r = server.post("/jobs", {"route": "qapflow", "A": A, "B": B, "mode": "aggressive", "time_limit": 30, "seed": 0})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job = server.get(f"/jobs/{job_id}", scope="solve").json()
        if job["status"] == "running" and job["progress"]["best_objective"] is not None:
            break
        time.sleep(0.05)
    assert job["status"] == "running" and job["progress"]["elapsed"] >= 0
    r = server.client.delete(f"/jobs/{job_id}", headers=server.auth())
    assert r.status_code == 200
    job = r.json()
    assert job["status"] == "cancelled" and job["finished"] - job["started"] < 10
    result = job["result"]
    assert sorted(result["solution"]) == list(range(60))
    assert result["objective"] == qap_objective(A, B, result["solution"]) == job["progress"]["best_objective"]
    assert [v for _, v in job["curve"]] == sorted((v for _, v in job["curve"]), reverse=True)
    assert server.client.delete(f"/jobs/{job_id}", headers=server.auth()).json()["status"] == "cancelled"
    assert server.get("/jobs/nope").status_code == 404


def test_a_finished_job_serves_its_result_and_the_page_shows_it(server):
    r = server.post("/jobs", {"route": "workflow", **EXAMPLES["workflow"]})
    job = server.wait(r.json()["id"])
    assert job["status"] == "done" and job["result"]["objective"] == 8 and job["progress"]["best_objective"] == 8
    r = server.post("/jobs", {"route": "nowhere"})
    assert r.status_code == 422 and "route must be one of" in json.dumps(r.json())
    r = server.post("/jobs", {"route": "qapflow", "A": [[0]]})
    assert r.status_code == 422 and "body.B" in json.dumps(r.json())
    page = server.client.get(f"/?key={server.secret['solve']}&job={job['id']}")  # the job's owner: logs in
    assert page.status_code == 200 and job["id"] in page.text and "<table id=jobs>" in page.text


def test_a_full_queue_answers_503_with_retry_after(tmp_path):
    s = Server(tmp_path, workers=1, queue_limit=1)
    try:
        A, B = random_qap(50, 4)
        body = {"route": "qapflow", "A": A, "B": B, "mode": "aggressive", "time_limit": 20}
        first = s.post("/jobs", body).json()["id"]
        s.wait(first, until=("running",))
        second = s.post("/jobs", body).json()["id"]
        r = s.post("/jobs", body)
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1 and "queue limit 1" in r.json()["detail"]
        r = s.post("/qapflow/solve", {k: v for k, v in body.items() if k != "route"})
        assert r.status_code == 503
        assert s.client.delete(f"/jobs/{second}", headers=s.auth()).json()["status"] == "cancelled"
        assert s.get(f"/jobs/{second}", scope="solve").json()["error"] == "cancelled before it started"
        assert s.client.delete(f"/jobs/{first}", headers=s.auth()).json()["status"] == "cancelled"
    finally:
        s.app.state.queue.close()


def test_metrics_count_requests_solves_and_the_queue(server):
    server.post("/qapflow/solve", {"A": [[0, 1], [1, 0]], "B": [[0, 2], [2, 0]], "time_limit": 0.1})
    server.post("/qapflow/solve", {"A": [[0]]})
    text = server.get("/metrics").text
    assert 'mezan_requests_total{method="POST",route="/qapflow/solve",status="200"} 1.0' in text
    assert 'mezan_requests_total{method="POST",route="/qapflow/solve",status="422"} 1.0' in text
    assert 'mezan_request_seconds_bucket{le="0.005",route="/qapflow/solve",status="200"}' in text
    assert 'mezan_solves_total{solver="qapflow.auto",status="optimal"} 1.0' in text
    assert "mezan_queue_depth 0.0" in text and "mezan_solves_in_flight 0.0" in text


def test_cors_is_off_by_default_and_on_when_configured(server, tmp_path):
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    r = server.client.options("/qapflow/solve", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    s = Server(tmp_path / "cors", cors_origins=("https://example.org",))
    try:
        r = s.client.options("/qapflow/solve", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "https://example.org"
    finally:
        s.app.state.queue.close()


def test_openapi_schema_documents_every_route_with_examples(server):
    schema = server.client.get("/openapi.json").json()
    paths = schema["paths"]
    for route in ("qapflow", "workflow", "allocflow", "graphflow", "dualflow", "evoflow", "mezan"):
        post = paths[f"/{route}/solve"]["post"]
        assert {"401", "403", "413", "422", "429", "503"} <= set(post["responses"]), route
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert schema["components"]["schemas"][ref]["examples"], route
    assert {"/jobs", "/jobs/{job_id}", "/health", "/metrics", "/solvers", "/"} <= set(paths)


def test_shutdown_keeps_the_running_ones_best_and_hands_queued_jobs_to_the_next_server(tmp_path):
    s = Server(tmp_path, workers=1)
    A, B = random_qap(50, 6)
    body = {"route": "qapflow", "A": A, "B": B, "mode": "aggressive", "time_limit": 30}
    running = s.post("/jobs", body).json()["id"]
    s.wait(running, until=("running",))
    queued = s.post("/jobs", {**body, "time_limit": 1}).json()["id"]
    time.sleep(0.2)
    start = time.monotonic()
    s.app.state.queue.close()
    assert time.monotonic() - start < 10
    job = s.get(f"/jobs/{running}", scope="solve").json()
    assert job["status"] == "interrupted" and sorted(job["result"]["solution"]) == list(range(50))
    assert job["result"]["objective"] == qap_objective(A, B, job["result"]["solution"])
    job = s.get(f"/jobs/{queued}", scope="solve").json()
    assert job["status"] == "queued" and job["result"] is None  # handed back, not lost: the next server runs it
    again = Server(tmp_path, workers=1)  # a restart (or another replica) on the same store takes it over
    try:
        job = again.wait(queued, timeout=30, scope="admin")
        assert job["status"] == "done" and sorted(job["result"]["solution"]) == list(range(50))
    finally:
        again.app.state.queue.close()


def test_refused_stored_data_answers_503_without_the_servers_paths_and_the_page_still_renders(server, tmp_path):
    with server.store.transaction() as db:
        db.execute("INSERT INTO ratings VALUES ('qap:global', 'qap.rots', 'high', 1)")
    r = server.get("/solvers")
    assert r.status_code == 503 and "mezan meta verify" in r.json()["detail"] and str(tmp_path) not in r.text
    page = server.client.get(f"/?key={server.secret['read']}")
    assert page.status_code == 200 and "<h2>Recent jobs</h2>" in page.text
    assert "fails its checks" in page.text and str(tmp_path) not in page.text
