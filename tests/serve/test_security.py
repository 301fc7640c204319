"""Security headers, login throttling, no PHI in logs or error pages, inert injection strings,
and the analyst who never sees a name."""

from __future__ import annotations

import logging
import re

import pytest

from medmine.privacy.audit import verify

from .conftest import login
from .test_access import body_for, concrete, operations

INJECTIONS = [
    "' OR '1'='1",
    '"; DROP TABLE person; --',
    "1 UNION SELECT given_name FROM mm_person_identity",
    "../../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "<script>alert(1)</script>",
]


def test_security_headers_on_every_page(client, served, tokens):
    pages = ["/login", "/", "/warehouse", "/quality", "/studies", "/api/v1/health", "/nope"]
    login(client, "admin")
    for p in pages:
        h = client.get(p).headers
        csp = h["content-security-policy"]
        script_src = re.search(r"script-src ([^;]*)", csp).group(1)
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert "frame-ancestors 'none'" in csp
        assert h["x-content-type-options"] == "nosniff"


def test_pages_have_no_inline_scripts(client, served):
    _, phi = served
    login(client, "admin")
    for p in ["/", "/warehouse", "/quality", "/studies", "/studies/readmission", "/fraud",
              f"/persons/{phi['person_id']}", "/audit", "/profiles/person"]:  # fmt: skip
        html = client.get(p).text
        assert "<script" not in html.lower() and "onclick=" not in html.lower(), p


def test_login_is_throttled_after_five_failures(app, client):
    throttle = app.state.medmine.throttle
    try:
        for _ in range(5):
            assert login(client, "investigator", "wrong password!!").status_code == 401
        r = login(client, "investigator", "wrong password!!")
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        # even the right password waits: the throttle counts failures per name and address
        assert login(client, "investigator").status_code == 429
    finally:
        throttle._fails.clear()
    assert login(client, "investigator").status_code == 303


def test_analyst_never_sees_a_name(client, served, tokens):
    _, phi = served
    assert login(client, "analyst").status_code == 303
    seen = 0
    for method, path, op in operations(client):
        if method != "GET" or op["x-medmine-permission"] == "public":
            continue
        if op["x-medmine-permission"] != "any" and "analyst" not in op["x-medmine-roles"]:
            continue
        r = client.get(concrete(path, served, client))
        for name in phi["names"]:
            assert name not in r.text, f"{path} shows a name to an analyst"
        seen += 1
    assert seen >= 10
    assert client.get(f"/persons/{phi['person_id']}").status_code == 403
    assert client.get(f"/api/v1/persons/{phi['person_id']}").status_code == 403


def test_clinician_sees_the_name_and_the_view_is_audited(app, client, served):
    _, phi = served
    login(client, "clinician")
    r = client.get(f"/persons/{phi['person_id']}")
    assert r.status_code == 200 and phi["names"][1] in r.text
    con = app.state.medmine.cursor()
    actor, detail = con.execute(
        "SELECT actor, detail FROM mm_audit WHERE action = 'view.person' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert actor.startswith("web:clinician")
    assert f'"person_id":{phi["person_id"]}' in detail and phi["names"][1] not in detail
    assert verify(app.state.medmine.view()).ok


def test_no_phi_in_logs_or_error_pages(client, served, caplog):
    _, phi = served
    name = phi["names"][1]
    caplog.set_level(logging.DEBUG)
    login(client, "clinician")
    client.get(f"/persons/{phi['person_id']}")
    r = client.get("/persons/find", params={"person_id": f"{name} <b>x</b>"})
    assert r.status_code == 422 and name not in r.text and "<b>x" not in r.text
    r = client.post("/api/v1/score/readmission_l1_logistic", json={"instances": [{name: 1.0}]},
                    headers={"Authorization": "Bearer " + _token(client)})  # fmt: skip
    assert r.status_code == 422
    r = client.get(f"/api/v1/quality?status={name}")
    # the test client's own request log (httpx) is not the server's
    server_log = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    assert "/persons/{person_id}" in server_log and "/api/v1/score/{model}" in server_log
    assert name not in server_log
    assert str(phi["person_id"]) not in server_log  # logs carry route templates only


def _token(client):
    return client.app.state.medmine.users.new_token("clinician", "t")


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_strings_are_inert_in_every_parameter(app, client, served, tokens, payload):
    before = dict(app.state.medmine.cursor().execute(
        "SELECT 'person', count(*) FROM person UNION ALL "
        "SELECT 'identity', count(*) FROM mm_person_identity").fetchall())  # fmt: skip
    client.cookies.clear()
    auth = {"Authorization": f"Bearer {tokens['admin']}"}
    tried = 0
    for method, path, op in operations(client):
        params = [p for p in op.get("parameters", []) if p["in"] in ("path", "query")]
        for p in params:
            url = concrete(path, served, client)
            query = None
            if p["in"] == "path":
                url = concrete(path.replace("{" + p["name"] + "}", "INJ"), served, client)
                url = url.replace("INJ", payload.replace("/", "%2F"))
            else:
                query = {p["name"]: payload}
            if "/runs" in path or path == "/studies/run":
                url = url.replace("readmission", "no_such_study")
            r = client.request(method, url, params=query, json=body_for(method, path),
                               headers=auth, follow_redirects=False)  # fmt: skip
            assert r.status_code < 500, f"{method} {path} {p['name']}: {r.status_code}"
            assert "root:x:0" not in r.text
            if r.status_code == 200 and r.headers["content-type"].startswith("application/json"):
                assert "given_name" not in r.text or path.startswith("/api/v1/persons")
            tried += 1
    assert tried >= 10
    after = dict(app.state.medmine.cursor().execute(
        "SELECT 'person', count(*) FROM person UNION ALL "
        "SELECT 'identity', count(*) FROM mm_person_identity").fetchall())  # fmt: skip
    assert after == before


def test_report_files_cannot_escape_the_reports_folder(client):
    login(client, "analyst")
    for name in ["..%2F..%2Fetc%2Fpasswd", "models%2Freadmission_l1_logistic.skops",
                 "study_readmission.json", "..%2Fwh.duckdb"]:  # fmt: skip
        assert client.get(f"/reports/{name}").status_code == 404
    r = client.get("/reports/study_readmission.html")
    assert r.status_code == 200 and "sandbox" in r.headers["content-security-policy"]
