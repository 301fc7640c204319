"""`medmine serve --workers 2` on loopback: both workers answer, share the JWT replay cache,
sessions, failed logins and jobs, enforce roles, and every audited answer is in the warehouse
after shutdown; plus the audit spool and the shared store on their own."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from medmine.errors import IntegrityError
from medmine.privacy.audit import verify
from medmine.serve.shared import SharedStore
from medmine.serve.spool import SpoolWriter, merge_spool, newest_entry, spool_path, spooled
from medmine.warehouse import Warehouse
from medmine.warehouse.audit import append, entries

from .conftest import PASSWORD

ISS = "https://ehr.workers.example"
WORKER = "x-medmine-worker"
#: One client, no keep-alive: each request opens a new connection, which either worker may
#: accept (a kept-alive connection stays with one worker).
HTTP = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(served, tmp_path_factory):
    """A copy of the session's served warehouse (a readmission model), served by 2 workers.

    Copied, not built again: the session's app may hold the original open for writing, and
    nothing is written to it while a test is not running (its audit commits before answers).
    """
    settings, _ = served
    d = tmp_path_factory.mktemp("workers")
    wh_path, reports = d / "wh.duckdb", d / "reports"
    for suffix in ("", ".wal", ".users.sqlite", ".audit-head"):
        src = Path(str(settings.warehouse) + suffix)
        if src.exists():
            shutil.copy2(src, str(wh_path) + suffix)
    shutil.copytree(settings.models_dir, reports / "models")
    with Warehouse(wh_path) as wh:
        inpatients = [r[0] for r in wh.con.execute(
            "SELECT DISTINCT person_id FROM visit_occurrence WHERE visit_concept_id = 9201 "
            "ORDER BY 1 LIMIT 40").fetchall()]  # fmt: skip
        # the chain the workers continue; entries of earlier tests are before it
        before = append(wh.con, None, "test.before", "warehouse").seq
    from medmine.serve.users import UserStore, users_path

    users = UserStore(users_path(wh_path))
    tokens = {role: users.new_token(role, "tests") for role in ("clinician", "analyst")}
    users.close()
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid="w1", alg="ES384", use="sig")
    (d / "clients.json").write_text(json.dumps({ISS: {"keys": [jwk]}}))
    port = _free_port()
    env = {**os.environ, "MEDMINE_CDS_CLIENTS": str(d / "clients.json")}
    log = (d / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "medmine", "serve", "-w", str(wh_path), "--reports", str(reports),
         "--port", str(port), "--workers", "2", "--trust-unsigned", "--insecure-cookies"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + 90
        while len(seen) < 2:
            assert proc.poll() is None, (d / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the two workers did not both answer"
            try:
                seen.add(HTTP.get(f"{base}/api/v1/health").headers[WORKER])
            except httpx.HTTPError:
                time.sleep(0.2)
        yield {"proc": proc, "base": base, "wh": wh_path, "key": key, "tokens": tokens,
               "inpatients": inpatients, "log": d / "server.log", "before": before}  # fmt: skip
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=120)
        log.close()


def _both(send, *, at_least: int = 4, most: int = 200) -> list[httpx.Response]:
    """Call `send()` (a fresh connection each time) concurrently until both workers answered."""
    out: list[httpx.Response] = []
    with ThreadPoolExecutor(8) as pool:
        while len(out) < most:
            out += list(pool.map(lambda _: send(), range(8)))
            if len(out) >= at_least and len({r.headers.get(WORKER) for r in out}) == 2:
                return out
    raise AssertionError(f"{len(out)} requests all went to one worker")


def _jwt(s, jti=None) -> str:
    now = int(time.time())
    claims = {"iss": ISS, "aud": f"{s['base']}/cds-services/readmission-risk", "exp": now + 300,
              "iat": now, "jti": jti or uuid.uuid4().hex}  # fmt: skip
    return jwt.encode(claims, s["key"], algorithm="ES384", headers={"kid": "w1"})


def _hook(s, bearer: str | None, patient: int) -> httpx.Response:
    body = {"hook": "patient-view", "hookInstance": uuid.uuid4().hex,
            "context": {"userId": "Practitioner/1", "patientId": str(patient)}}  # fmt: skip
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    r = HTTP.post(f"{s['base']}/cds-services/readmission-risk", json=body, headers=headers)
    r.hook_instance = body["hookInstance"]  # type: ignore[attr-defined]
    return r


def test_two_workers_share_replay_cache_sessions_and_audit_everything(server):
    s, n = server, iter(range(10**6))

    def patient() -> int:
        return s["inpatients"][next(n) % len(s["inpatients"])]

    # CDS hooks with fresh JWTs are answered by both workers, each with a card
    hooks = _both(lambda: _hook(s, _jwt(s), patient()))
    assert all(r.status_code == 200 for r in hooks), [r.text[:200] for r in hooks]
    assert sum(len(r.json()["cards"]) for r in hooks) >= len(hooks) // 2
    # a JWT used once is refused on replay, also by the worker that did not see it first
    first = _hook(s, (token := _jwt(s)), patient())
    assert first.status_code == 200
    replays = _both(lambda: _hook(s, token, patient()))
    assert {r.status_code for r in replays} == {401}
    assert {r.headers[WORKER] for r in replays} - {first.headers[WORKER]}
    # roles, on both workers: anonymous 401, analyst 403 for hooks and the person view
    person = s["inpatients"][0]
    analyst = {"Authorization": f"Bearer {s['tokens']['analyst']}"}
    clinician = {"Authorization": f"Bearer {s['tokens']['clinician']}"}
    assert {r.status_code for r in _both(lambda: _hook(s, None, person))} == {401}
    denied = _both(lambda: _hook(s, s["tokens"]["analyst"], person))
    assert {r.status_code for r in denied} == {403}
    url = f"{s['base']}/api/v1/persons/{person}"
    assert {r.status_code for r in _both(lambda: HTTP.get(url, headers=analyst))} == {403}
    views = _both(lambda: HTTP.get(url, headers=clinician))
    assert {r.status_code for r in views} == {200}
    # a browser session started on one worker is valid on the other
    # (logins through clients of their own: the shared one must not keep the cookies)
    login = httpx.get(f"{s['base']}/login")
    csrf = login.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"username": "clinician", "password": PASSWORD, "csrf_token": csrf}
    done = httpx.post(f"{s['base']}/login", cookies=login.cookies, data=form)
    assert done.status_code == 303
    cookie = {"Cookie": f"mm_session={done.cookies['mm_session']}"}
    me = _both(lambda: HTTP.get(f"{s['base']}/api/v1/me", headers=cookie))
    assert {(r.status_code, r.json()["username"]) for r in me} == {(200, "clinician")}

    # failed logins count across workers: 5 failures spread over both lock the name on both
    def fail() -> httpx.Response:
        page = httpx.get(f"{s['base']}/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        return httpx.post(f"{s['base']}/login", cookies=page.cookies,
                          data={"username": "analyst", "password": "wrong password 123",
                                "csrf_token": token})  # fmt: skip

    fails = [fail() for _ in range(5)]
    assert {r.status_code for r in fails} == {401}
    locked = _both(fail, at_least=2)
    assert {r.status_code for r in locked} == {429}
    # a study job started on one worker is visible on the other
    run = HTTP.post(f"{s['base']}/api/v1/studies/pharmacogenomics/runs", headers=analyst)
    assert run.status_code == 202, run.text
    job_url = f"{s['base']}/api/v1/jobs/{run.json()['id']}"
    jobs = _both(lambda: HTTP.get(job_url, headers=analyst))
    assert {r.json()["study"] for r in jobs} == {"pharmacogenomics"}
    # graceful stop: every answered hook and person view is in the warehouse's chain
    s["proc"].send_signal(signal.SIGTERM)
    assert s["proc"].wait(timeout=120) == 0, s["log"].read_text()[-2000:]
    answered = {r.hook_instance for r in [*hooks, first]}
    with Warehouse(s["wh"], read_only=True) as wh:
        rows = wh.con.execute(
            "SELECT action, detail FROM mm_audit WHERE action IN "
            "('cds.patient-view', 'view.person') AND seq > ? ORDER BY seq",
            [s["before"]],
        ).fetchall()
        check = verify(wh)
    logged = [json.loads(d) for a, d in rows if a == "cds.patient-view"]
    assert sorted(e["hookInstance"] for e in logged) == sorted(i[:64] for i in answered)
    assert sum(a == "view.person" for a, _ in rows) == len(views)
    assert check.ok, check.reason
    assert spooled(spool_path(s["wh"])) == []
    assert not HTTP.cookies


def test_spool_merges_once_with_the_same_chain_and_refuses_a_tampered_spool(tmp_path):
    wh_path = tmp_path / "wh.duckdb"
    with Warehouse(wh_path) as wh:
        append(wh.con, None, "load", "person", 3)
        last = newest_entry(wh.con)
    writer = SpoolWriter(spool_path(wh_path), last)
    futures = [writer.submit(("web:ana", "view.person", "person", None, "treatment",
                              {"person_id": i})) for i in range(5)]  # fmt: skip
    written = [f.result(timeout=30) for f in futures]
    writer.close()
    assert [e.seq for e in written] == [2, 3, 4, 5, 6] and written[0].prev_hash == last.hash
    assert merge_spool(wh_path) == 5
    assert merge_spool(wh_path) == 0  # the spool is empty; nothing twice
    with Warehouse(wh_path, read_only=True) as wh:
        assert [e.hash for e in entries(wh.con)][1:] == [e.hash for e in written]
        assert verify(wh).ok
    # an entry whose content no longer matches its hash: nothing is merged
    writer = SpoolWriter(spool_path(wh_path), written[-1])
    writer.submit(("web:ana", "score", "m", None, None, {"person_id": 9})).result(timeout=30)
    writer.close()
    import sqlite3

    con = sqlite3.connect(spool_path(wh_path))
    con.execute("UPDATE entry SET detail = '{\"person_id\":10}'")
    con.commit()
    con.close()
    with pytest.raises(IntegrityError, match="hash does not match"):
        merge_spool(wh_path)
    with duckdb.connect(str(wh_path), read_only=True) as con:
        assert con.execute("SELECT max(seq) FROM mm_audit").fetchone()[0] == 6


def test_shared_store_refuses_a_jti_seen_by_another_process_connection(tmp_path: Path):
    a, b = SharedStore(tmp_path / "s.sqlite"), SharedStore(tmp_path / "s.sqlite")
    try:
        assert a.first_use("jti-1", time.time() + 60)
        assert not b.first_use("jti-1", time.time() + 60)
        assert b.first_use("jti-2", time.time() + 60)
        assert oct((tmp_path / "s.sqlite").stat().st_mode & 0o777) == "0o600"
    finally:
        a.close()
        b.close()


def test_a_spool_left_by_a_crash_is_merged_and_its_jobs_failed_before_serving(tmp_path):
    from medmine.serve import ServeSettings
    from medmine.serve.shared import state_path
    from medmine.serve.workers import prepare

    wh_path = tmp_path / "wh.duckdb"
    with Warehouse(wh_path) as wh:
        last = newest_entry(wh.con)
    writer = SpoolWriter(spool_path(wh_path), last)  # a run that never reached its merge
    spooled_entry = writer.submit(("web:ana", "score", "m", None, None, {"person_id": 1}))
    spooled_entry = spooled_entry.result(timeout=30)
    writer.close()
    store = SharedStore(state_path(wh_path))
    store.put_job({"id": "j1", "study": "readmission", "user": "ana", "status": "running",
                   "created": "2026-01-01T00:00:00+00:00"})  # fmt: skip
    store.close()
    newest = prepare(ServeSettings(warehouse=wh_path))
    assert newest == spooled_entry  # merged, and the next writer continues from it
    assert spooled(spool_path(wh_path)) == []
    store = SharedStore(state_path(wh_path))
    assert store.get_job("j1")["status"] == "failed"
    store.close()


def test_workers_precompute_once_and_load_it_from_the_first(app, tmp_path, monkeypatch):
    import medmine.serve.models as models_mod
    from medmine.serve.models import ModelRegistry
    from medmine.serve.warm import _warm_shared

    st = app.state.medmine
    name = st.extra["models"].default()
    built = []
    real = models_mod.score_index_events
    monkeypatch.setattr(models_mod, "score_index_events",
                        lambda *a, **k: built.append(1) or real(*a, **k))  # fmt: skip

    def worker():  # a worker's state: a registry of its own over the same model folder
        reg = ModelRegistry(st.settings.models_dir, trust_unsigned=True)
        return dataclasses.replace(st, extra={"models": reg}), reg

    (first, reg1), (second, reg2) = worker(), worker()
    _warm_shared(first, name, tmp_path)
    _warm_shared(second, name, tmp_path)
    assert len(built) == 1  # the second worker loaded the first one's scores
    a, b = reg1.ready(name), reg2.ready(name)
    assert b is not None and b.loaded is reg2.get(name) and len(a) == len(b) > 0
    person = next(iter(a._row))
    assert a.get(person, 3) == b.get(person, 3)
    assert oct(next(tmp_path.glob("*.pkl")).stat().st_mode & 0o777) == "0o600"
