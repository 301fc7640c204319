"""Every operation of the OpenAPI schema refuses anonymous callers (401) and the wrong roles
(403), and lets the right roles through; new routes are covered without editing this file."""

from __future__ import annotations

import re

import pytest

from medmine.serve import ROLES
from medmine.serve.deps import CSRF_HEADER

from .conftest import login

PUBLIC = {
    ("GET", "/reports/assets/{name}"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/cds-services"),
    ("GET", "/api/v1/health"),
}


def operations(client):
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def concrete(path: str, served, client) -> str:
    _, phi = served
    values = {
        "person_id": str(phi["person_id"]),
        "name": "readmission",
        "table": "person",
        "model": "readmission_l1_logistic",
        "provider_id": "1",
        "job_id": "0" * 32,
        "ext": "csv",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def body_for(method: str, path: str) -> dict | None:
    if path.startswith("/api/v1/score"):
        return {"instances": [{}]}
    if path.startswith("/cds-services/"):
        return {"hook": "patient-view", "hookInstance": "x", "context": {"userId": "u",
                "patientId": "nobody"}}  # fmt: skip
    if path == "/api/v1/tokens":
        return {"label": "walk"}
    return None


def test_every_operation_declares_its_permission(client):
    ops = list(operations(client))
    assert len(ops) >= 35
    for method, path, op in ops:
        assert "x-medmine-permission" in op, f"{method} {path} has no permission"
        if op["x-medmine-permission"] not in ("public", "any"):
            assert op["x-medmine-roles"], f"{method} {path}"


def test_anonymous_gets_401_everywhere_but_public_routes(client, served):
    client.cookies.clear()
    for method, path, _ in operations(client):
        if (method, path) in PUBLIC:
            continue
        r = client.request(method, concrete(path, served, client), json=body_for(method, path),
                           follow_redirects=False)  # fmt: skip
        assert r.status_code == 401, f"{method} {path}: {r.status_code}"


def test_public_routes_answer_without_login(client):
    client.cookies.clear()
    assert client.get("/api/v1/health").json()["status"] == "ok"
    assert client.get("/cds-services").status_code == 200
    assert client.get("/login").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_roles_get_exactly_their_operations(client, served, tokens, role):
    client.cookies.clear()
    auth = {"Authorization": f"Bearer {tokens[role]}"}
    checked = 0
    for method, path, op in operations(client):
        perm = op["x-medmine-permission"]
        if perm == "public" or path == "/logout":
            continue
        allowed = perm == "any" or role in op["x-medmine-roles"]
        url = concrete(path, served, client)
        if method == "POST" and "run" in path:
            url = url.replace("readmission", "no_such_study")  # never start a real run here
        r = client.request(method, url, json=body_for(method, path), headers=auth,
                           data={"name": "no_such_study"} if path == "/studies/run" else None,
                           follow_redirects=False)  # fmt: skip
        if allowed:
            assert r.status_code not in (401, 403), f"{role} {method} {path}: {r.status_code}"
        else:
            assert r.status_code == 403, f"{role} {method} {path}: {r.status_code}"
        checked += 1
    assert checked >= 30


def test_session_writes_need_the_csrf_token(client):
    assert login(client, "admin").status_code == 303
    r = client.post("/api/v1/tokens", json={"label": "x"})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    page = client.get("/")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/api/v1/tokens", json={"label": "x"}, headers={CSRF_HEADER: csrf})
    assert r.status_code == 201 and r.json()["token"].startswith("mm_")
    # a form post without the token is refused, with it accepted
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me").status_code == 401  # the session is gone


def test_login_form_needs_its_csrf_cookie(client):
    client.cookies.clear()
    r = client.post("/login", data={"username": "admin", "password": "x" * 20,
                                    "csrf_token": "forged"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 403


def test_session_cookie_is_secure_httponly_samesite(client):
    r = login(client, "analyst")
    cookie = r.headers["set-cookie"]
    assert "mm_session=" in cookie
    for flag in ("Secure", "HttpOnly", "SameSite=strict"):
        assert flag.lower() in cookie.lower()


def test_bad_or_unknown_bearer_is_401(client):
    client.cookies.clear()
    for value in ("Bearer mm_forged", "Bearer a.b.c", "Basic YWRtaW46eA=="):
        assert client.get("/api/v1/me", headers={"Authorization": value}).status_code == 401
