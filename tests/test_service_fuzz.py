"""Property-based fuzzing of the solve routes with numeric extremes and composite references (bounded): whatever
the body, the answer is a 2xx or a 4xx naming what is wrong — never a 5xx — and the workers stay alive."""

import json
import math
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mezan.service import ServiceConfig, create_app
from mezan.service.keys import KeyStore
from mezan.store import Store

STORE = Store(Path(tempfile.mkdtemp(prefix="mezan-route-fuzz-")) / "mezan.db")
CLIENT = TestClient(create_app(ServiceConfig(workers=2, rate_per_minute=1e6, max_time_limit=0.05, key_quota=64,
                                             max_size={"read": 0, "solve": 8, "admin": 8}), STORE))
AUTH = {"Authorization": f"Bearer {KeyStore(STORE).create('admin')[0]}", "Content-Type": "application/json"}

extremes = st.sampled_from([1e308, -1e308, 1e300, 2**62, 2**63, -(2**63), 2**64, 1e15, 1e12, 5e-324, 0, 1, -1, 3.5,
                            math.nan, math.inf, -math.inf, True, "1", None, [], {}])
numbers = st.one_of(extremes, st.integers(-10, 10), st.floats(allow_nan=False, allow_infinity=False, width=32))
matrices = st.integers(0, 4).flatmap(lambda n: st.lists(st.lists(numbers, min_size=n, max_size=n), min_size=n,
                                                         max_size=n))
references = st.sampled_from(["$a.solution", "$a.solution[0]", "$a.solution[9]", "$a.objective", "$a.objective[1]",
                              "$a.solution.x", "$a.status", "$a.missing", "$b.solution", "$zz.objective", "$a."])
options = st.fixed_dictionaries({}, optional={"time_limit": numbers, "seed": numbers})


def composite(reference, a_matrix, second_type, second_options):
    second = {"id": "b", "type": second_type, "depends_on": "a", "payoff": [[reference, 1], [0, 1]],
              "A": reference, "B": [[0, 1], [1, 0]], "costs": [[[reference, 1], [1, 0]]], **second_options}
    return {"type": "composite", "subproblems": [{"id": "a", "type": "qap", "A": a_matrix, "B": a_matrix}, second]}


bodies = st.one_of(
    st.builds(lambda A, B, o: ("/qapflow/solve", {"A": A, "B": B, **o}), matrices, matrices, options),
    st.builds(lambda P, o: ("/dualflow/solve", {"type": "matrix_game", "payoff": P, **o}), matrices, options),
    st.builds(lambda C, o: ("/dualflow/solve", {"type": "robust_assignment", "costs": [C], **o}), matrices, options),
    st.builds(lambda s, c, o: ("/graphflow/solve", {"type": "network_design", "task": "min_cost_flow", **o,
                                                     "nodes": [{"id": "a", "supply": s}, {"id": "b", "supply": s}],
                                                     "edges": [{"from": "a", "to": "b", "cost": c}]}),
              numbers, numbers, options),
    st.builds(lambda b, v, o: ("/allocflow/solve", {"type": "allocation", "budget": b, **o,
                                                     "items": [{"id": "x", "cost": 1, "value": v}]}),
              numbers, numbers, options),
    st.builds(lambda d, o: ("/workflow/solve", {"type": "workflow", "tasks": [{"id": "t", "duration": d}], **o}),
              numbers, options),
    st.builds(lambda r, A, t, o: ("/mezan/solve", composite(r, A, t, o)), references, matrices,
              st.sampled_from(["qap", "matrix_game", "robust_assignment"]), options),
    st.builds(lambda r, A, t, o: ("/jobs", {"route": "mezan", **composite(r, A, t, o)}), references, matrices,
              st.sampled_from(["qap", "matrix_game"]), options),
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(bodies)
def test_no_body_gets_a_5xx(request):
    path, body = request
    response = CLIENT.post(path, content=json.dumps(body, allow_nan=True), headers=AUTH)
    assert response.status_code < 500, (path, body, response.status_code, response.text[:300])
    if 400 <= response.status_code < 500:
        assert response.json()["detail"], "a refusal says what is wrong"


def test_the_workers_are_all_alive_after_the_fuzzing():
    health = CLIENT.get("/health").json()
    assert health["workers"] == health["workers_expected"] and health["workers_stuck"] == 0
