"""The fast paths behind the load goals answer exactly what the slow paths answer.

Group-committed audit entries form the same verified chain; in-memory patient look-ups,
precomputed and remembered scores, batched feature scoring and LightGBM's own TreeSHAP equal
their per-request counterparts; the jti replay cache forgets only what can no longer decode.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from medmine.errors import MedmineError
from medmine.evaluate.explain import explain_rows
from medmine.mining.classify import LightGBMClassifier
from medmine.privacy.audit import verify
from medmine.serve import CdsClients
from medmine.serve.api import person_score, person_score_async
from medmine.serve.auth import Principal
from medmine.serve.data import PatientIndex, person_id_for
from medmine.serve.models import (
    PRECOMPUTED_TOP,
    ModelRegistry,
    ScoringBatcher,
    explain,
    score_features,
    score_many,
    vectorize,
)
from medmine.serve.state import AuditWriter
from medmine.studies.scoring import LoadedModel
from medmine.warehouse import Warehouse
from medmine.warehouse.audit import GENESIS_HASH, append, append_many, entries, entry_hash

MODEL = "readmission_l1_logistic"
WHO = Principal("tester", "clinician", "token")


# ---- audit: append_many and group commit ----
def _chain_ok(rows) -> None:
    prev = GENESIS_HASH
    for i, e in enumerate(rows, start=1):
        assert e.seq == i and e.prev_hash == prev
        assert e.hash == entry_hash(e.payload(), prev)
        prev = e.hash


def test_append_many_continues_the_chain_and_rereads_a_stale_head(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDMINE_AUDIT_KEY", raising=False)
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        items = [(None, "a", "x", 1, None, {"k": 1}), (None, "b", None, None, None, None)]
        first = append_many(wh.con, items)
        assert [e.seq for e in first] == [1, 2] and first[1].prev_hash == first[0].hash
        append(wh.con, None, "someone-else")  # another writer appends after our remembered head
        more = append_many(wh.con, [(None, "c", None, None, None, None)], last=first[-1])
        assert more[0].seq == 4
        _chain_ok(entries(wh.con))
        head = Path(str(tmp_path / "wh.duckdb") + ".audit-head").read_text().split()
        assert head[-2:] == [str(more[0].seq), more[0].hash]
        assert verify(wh).ok


def test_group_commit_writes_every_entry_once_in_one_verified_chain(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDMINE_AUDIT_KEY", raising=False)
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        writer = AuditWriter(wh.con)
        futures = [
            writer.submit((f"web:u{i}", "view.person", "person", None, "treatment", {"i": i}))
            for i in range(60)
        ]
        done = [f.result(timeout=60) for f in futures]
        assert sorted(e.seq for e in done) == list(range(1, 61))
        assert writer.entries == 60 and writer.batches < 60  # entries shared commits
        # each request got its own entry back (its detail), committed before it returned
        assert [e.detail for e in done] == [f'{{"i":{i}}}' for i in range(60)]
        writer.close()
        assert wh.con.execute("SELECT count(*) FROM mm_audit").fetchone()[0] == 60
        assert verify(wh).ok


def test_group_commit_from_many_threads(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDMINE_AUDIT_KEY", raising=False)
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        writer = AuditWriter(wh.con)
        got: list = []
        threads = [
            threading.Thread(target=lambda i=i: got.append(writer.submit(
                (f"web:t{i}", "score", "m", None, None, None)).result(timeout=60)))
            for i in range(24)
        ]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        writer.close()
        assert len({e.seq for e in got}) == 24 and verify(wh).ok


def test_a_failed_audit_write_fails_the_waiting_requests(tmp_path):
    import duckdb

    con = duckdb.connect(str(tmp_path / "no_audit_table.duckdb"))
    writer = AuditWriter(con)
    fut = writer.submit(("web:x", "view.person", "person", None, None, None))
    with pytest.raises(duckdb.Error):
        fut.result(timeout=60)
    writer.close()


# ---- patient look-up ----
def test_patient_index_answers_as_the_query(app):
    cur = app.state.medmine.cursor()
    index = PatientIndex(cur)
    rows = cur.execute("SELECT person_id, person_source_value FROM person LIMIT 40").fetchall()
    asked = {"", "nope", "Patient/", "999999999999", "00", "-1", "1e3"}
    for pid, source in rows:
        asked |= {str(pid), f"0{pid}"}
        if source:
            bare = source.split("/", 1)[-1]
            asked |= {source, bare, f"Patient/{bare}", f"fhir:Patient/{bare}"}
    assert len(asked) > 80
    for patient in sorted(asked):
        assert index.person_id_for(patient) == person_id_for(cur, patient), patient


# ---- scoring ----
@pytest.fixture(scope="module")
def lgbm():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(400, 8)).astype(float)
    y = (X[:, 0] + rng.normal(size=400) > 1.5).astype(int)
    names = [f"f{j}" for j in range(8)]
    model = LightGBMClassifier(n_estimators=30, num_leaves=7).fit(X, y)
    return LoadedModel(model, {"feature_names": names, "model_sha256": "t"}, Path("m.skops")), X


def test_lightgbm_treeshap_equals_shap_tree_explainer(lgbm):
    loaded, X = lgbm
    names = loaded.feature_names
    ours = explain(loaded, X[:60], 5)
    theirs = explain_rows(loaded.model, sp.csr_matrix(X[:60]), names, sp.csr_matrix(
        np.zeros((1, 8))), top=5)  # fmt: skip
    for a, b in zip(ours, theirs, strict=True):
        assert [e["feature"] for e in a] == list(b["feature"])
        assert [e["value"] for e in a] == list(b["value"])
        np.testing.assert_allclose([e["contribution"] for e in a], b["shap"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("which", ["lightgbm", "l1_logistic"])
def test_batched_scores_equal_scores_of_each_request_alone(which, lgbm, app):
    loaded = lgbm[0] if which == "lightgbm" else app.state.medmine.extra["models"].get(MODEL)
    names = loaded.feature_names
    rng = np.random.default_rng(1)
    requests = [
        ([{n: float(rng.integers(0, 4)) for n in rng.choice(names, 4, replace=False)}
          for _ in range(k)], top)
        for k, top in ((1, 5), (3, 0), (2, 2), (5, 3))
    ]  # fmt: skip
    alone = [score_features(loaded, rows, top=top) for rows, top in requests]
    together = score_many(loaded, [(vectorize(loaded, rows), top) for rows, top in requests])
    assert together == alone
    batcher = ScoringBatcher(loaded)
    futures = [batcher.submit(vectorize(loaded, rows), top) for rows, top in requests]
    assert [f.result(timeout=60) for f in futures] == alone
    assert batcher.rows == sum(len(rows) for rows, _ in requests)


def test_vectorize_refuses_unknown_and_non_finite(lgbm):
    loaded = lgbm[0]
    with pytest.raises(ValueError, match="unknown to this model"):
        vectorize(loaded, [{"f0": 1.0}, {"nope": 1.0}])
    with pytest.raises(ValueError, match="not a finite number"):
        vectorize(loaded, [{"f1": float("nan")}])


# ---- remembered live outcomes ----
def _audit_count(st, person_id: int) -> int:
    return (
        st.cursor()
        .execute(
            "SELECT count(*) FROM mm_audit WHERE action = 'score' AND detail LIKE ?",
            [f'%"person_id":{person_id}%'],
        )
        .fetchone()[0]
    )


def test_a_person_outside_the_precomputed_set_is_remembered_and_still_audited(app):
    st = app.state.medmine
    pre = st.extra["models"].precomputed(MODEL, st.view())
    outside = next(
        int(r[0])
        for r in st.cursor().execute("SELECT person_id FROM person ORDER BY person_id").fetchall()
        if int(r[0]) not in pre
    )
    results = []
    for _ in range(2):
        try:
            results.append(asyncio.run(person_score_async(st, WHO, MODEL, outside, top=3)))
        except MedmineError as exc:
            results.append(type(exc))
    assert results[0] == results[1]
    assert (outside, PRECOMPUTED_TOP) in pre.live  # kept with 10 contributions, cut to 3
    try:
        live = person_score(st, WHO, MODEL, outside, top=3, audit_entry=False)
    except MedmineError as exc:
        live = type(exc)
    assert live == results[0]
    assert _audit_count(st, outside) >= 2  # the remembered answer is audited too


def test_precomputed_path_audits_before_answering(app):
    st = app.state.medmine
    pre = st.extra["models"].precomputed(MODEL, st.view())
    pid = int(pre.frame["person_id"].iloc[0])
    before = _audit_count(st, pid)
    s = asyncio.run(person_score_async(st, WHO, MODEL, pid, top=3))
    assert s["risk"] == pytest.approx(float(pre.frame["risk"].iloc[0]))
    assert _audit_count(st, pid) == before + 1


def test_model_is_reloaded_when_its_file_changes(served):
    settings, _ = served
    reg = ModelRegistry(settings.models_dir)
    path = settings.models_dir / f"{MODEL}.skops"
    a = reg.get(MODEL)
    assert reg.get(MODEL) is a and reg.cached(MODEL) is a
    st = os.stat(path)
    try:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        assert reg.cached(MODEL) is None
        b = reg.get(MODEL)
        assert b is not a and b.manifest["model_sha256"] == a.manifest["model_sha256"]
    finally:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# ---- jti replay cache ----
def test_replay_cache_refuses_a_live_jti_and_forgets_only_expired_ones():
    clients = CdsClients({})
    now = time.time()
    assert clients._first_use("a", now + 300)
    assert not clients._first_use("a", now + 300)
    for i in range(500):  # long expired: forgotten on the next request
        clients._first_use(f"old{i}", now - 120)
    assert clients._first_use("b", now + 300)
    assert len(clients._seen) == 2 and not clients._first_use("a", now + 300)
    assert len(clients._expiry) == 2


def test_start_up_scores_persons_outside_the_cohort_as_live_scoring_does(app):
    from medmine.serve.models import index_persons
    from medmine.serve.warm import _warm_outside

    st = app.state.medmine
    registry = st.extra["models"]
    pre = registry.precomputed(MODEL, st.view())
    outside = [p for p in index_persons(registry.get(MODEL), st.view()) if p not in pre]
    assert outside, "the fixture warehouse has stays the cohort leaves out"
    old = st.settings.warm_outside
    st.settings.warm_outside = 2
    try:
        _warm_outside(st, MODEL, pre)
    finally:
        st.settings.warm_outside = old
    for pid in outside[:2]:
        got = pre.live[(pid, PRECOMPUTED_TOP)]
        try:
            want = person_score(st, WHO, MODEL, pid, top=PRECOMPUTED_TOP, audit_entry=False)
        except MedmineError as exc:
            assert type(got) is type(exc)
            continue
        assert got == want
