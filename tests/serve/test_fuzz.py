"""Property-based fuzzing of every API operation from the OpenAPI schema (schemathesis):
no request, however odd, gets a 5xx. Runs as admin (every operation reachable).

Schemathesis' pytest plugin (lazy fixtures) does not run under pytest 9, so each operation's
Hypothesis strategy is driven directly here.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the dev extra")
from hypothesis import HealthCheck, given, settings  # noqa: E402

#: /login is covered by the throttle tests; background runs would start real studies.
SKIP = ("/login", "/studies/run")


def test_no_5xx_anywhere(app, tokens):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = {"Authorization": f"Bearer {tokens['admin']}"}
    fuzzed = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path in SKIP or op.path.endswith("/runs"):
            continue

        @given(case=op.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)  # fmt: skip
        def fuzz(case):
            response = case.call(headers=auth)
            assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"

        fuzz()
        fuzzed += 1
    app.state.medmine.throttle._fails.clear()
    assert fuzzed >= 25
