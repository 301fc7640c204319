"""Property-based fuzzing of every API operation from the OpenAPI schema (schemathesis):
no request, however odd, gets a 5xx. Runs as admin (every operation reachable)."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the dev extra")
from hypothesis import HealthCheck, settings  # noqa: E402

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(app):
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    # /login is fuzzed by the throttle tests; background runs would start real studies
    return loaded.exclude(path_regex=r"^/login$|/runs$|^/studies/run$")


@pytest.fixture(autouse=True)
def _reset_throttle(app):
    yield
    app.state.medmine.throttle._fails.clear()


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_anywhere(case, tokens):
    response = case.call(headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"
