"""Schemathesis against the service's own OpenAPI schema (bounded): generated requests, valid and
invalid, never get a 5xx and every response matches the schema (status code, content type, body)."""

import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from mezan.service import ServiceConfig, create_app  # noqa: E402
from mezan.service.keys import KeyStore  # noqa: E402
from mezan.store import Store  # noqa: E402

STORE = Store(Path(tempfile.mkdtemp(prefix="mezan-schema-")) / "mezan.db")
APP = create_app(ServiceConfig(workers=2, rate_per_minute=1e6, max_time_limit=0.05,
                               max_size={"read": 0, "solve": 8, "admin": 8}), STORE)
AUTH = {"Authorization": f"Bearer {KeyStore(STORE).create('admin')[0]}"}
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
def test_generated_requests_get_no_5xx_and_conform_to_the_schema(case):
    case.call_and_validate(headers=AUTH, checks=[not_a_server_error, status_code_conformance,
                                                 content_type_conformance, response_schema_conformance])


negative = schemathesis.openapi.from_asgi("/openapi.json", APP)
negative.config.generation.update(modes=[schemathesis.GenerationMode.NEGATIVE])


@negative.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
def test_requests_that_break_the_schema_get_a_4xx_never_a_5xx(case):
    response = case.call(headers=AUTH)
    assert response.status_code < 500, (case.method, case.path, case.body, response.status_code, response.text[:300])
