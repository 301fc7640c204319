"""DocumentReference and DiagnosticReport -> note as ViewDefinitions run set-wise: equal to
the per-resource loader (text decoded in the database, skips and reason codes).
"""

from __future__ import annotations

import base64
import json

import pytest

from medmine.fhir.views import validate_view
from medmine.ingest.fhir._viewmap_base import view_file
from medmine.ingest.fhir._viewmap_note import NOTES, mapped_notes, note_mappings
from medmine.warehouse import Warehouse
from tests.ingest._viewmap_sample import (
    compare,
    mapping_columns,
    of_types,
    per_resource_load,
    sample_warehouse,
)

TYPES = tuple(NOTES)


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def test_views_are_documented_view_definitions():
    for rtype, n in NOTES.items():
        view = view_file(n.view)
        validate_view(view)
        assert view["resource"] == rtype and view["description"]
        assert all(c.get("description") for c in view["select"][0]["column"])


@pytest.mark.parametrize("plain", [False, True], ids=["view", "plain"])
def test_rows_equal_the_loaders_on_the_sample(plain):
    with Warehouse(sample_warehouse()) as wh:
        got = compare(wh, mapped_notes(wh.con, of_types(*TYPES), plain=plain), "note", "note_id")
        skips = wh.con.execute("SELECT skip_code, count(*) FROM mc GROUP BY ALL").fetchall()
    assert got == {"loaded": 7153, "regular": 7153, "extra": 0, "missing": 0}
    assert dict(skips) == {None: 7153, "not_mapped": 5383}


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
LOINC = {"coding": [{"system": "http://loinc.org", "code": "34117-2", "display": "H&P note"}]}
TEXT = {"contentType": "text/plain; charset=utf-8", "data": b64("Héllo\nworld")}
DOC = {
    "resourceType": "DocumentReference",
    "id": "d-ok",
    "subject": {"reference": "Patient/p1"},
    "type": LOINC,
    "date": "2020-01-02T03:04:05+02:00",
    "author": [{"reference": "Practitioner/d1"}],
    "context": {"encounter": [{"reference": "Encounter/e1"}]},
    "content": [{"attachment": TEXT}],
}
REPORT = {
    "resourceType": "DiagnosticReport",
    "id": "r-ok",
    "subject": {"reference": "Patient/p1"},
    "encounter": {"reference": "Encounter/e1"},
    "code": {"text": "Chest X-ray report"},
    "effectivePeriod": {"start": "2021-05-06T07:08:09Z"},
    "resultsInterpreter": [{"reference": "Practitioner/d2"}],
    "performer": [{"reference": "Practitioner/d3"}],
    "presentedForm": [{"contentType": "text/plain", "data": b64("No acute findings.")}],
}
BASE = {"DocumentReference": DOC, "DiagnosticReport": REPORT}
PDF = {"contentType": "application/pdf", "data": b64("%PDF")}
GOOD = [
    ("DocumentReference", {}),
    ("DiagnosticReport", {}),
    (
        "DocumentReference",
        {"id": "d-mime", "content": [{"attachment": {**TEXT, "data": "SGVs\r\nbG8=\n"}}]},
    ),
    ("DocumentReference", {"id": "d-fr", "content": [{"attachment": {**TEXT, "language": "fr"}}]}),
    (
        "DocumentReference",
        {"id": "d-en", "content": [{"attachment": {**TEXT, "language": "EN-us"}}]},
    ),
    (
        "DocumentReference",
        {"id": "d-second", "content": [{"attachment": PDF}, {"attachment": TEXT}]},
    ),
    (
        "DocumentReference",
        {"id": "d-period", "date": None, "context": {"period": {"start": "2019-03"}}},
    ),
    ("DocumentReference", {"id": "d-noctype", "content": [{"attachment": {"data": b64("x")}}]}),
    ("DocumentReference", {"id": "d-text", "type": {"text": "Discharge summary"}}),
    ("DiagnosticReport", {"id": "r-perf", "resultsInterpreter": None, "code": LOINC}),
    (
        "DiagnosticReport",
        {"id": "r-issued", "effectivePeriod": None, "issued": "2021-05-07T00:00:00.5+01:00"},
    ),
    ("DocumentReference", {"id": "d-empty", "content": [{"attachment": {**TEXT, "data": ""}}]}),
]
SKIPPED = [
    ("DocumentReference", {"id": "d-pdf", "content": [{"attachment": PDF}]}),
    ("DiagnosticReport", {"id": "r-results", "presentedForm": None}),
    (
        "DiagnosticReport",
        {"id": "r-nobody", "presentedForm": None, "subject": {"reference": "Patient/x"}},
    ),
]
BAD = [
    ("DocumentReference", {"id": "d-nosubject", "subject": None}, "missing_field"),
    (
        "DocumentReference",
        {"id": "d-dangling", "subject": {"reference": "Patient/x"}},
        "dangling_reference",
    ),
    ("DiagnosticReport", {"id": "r-group", "subject": {"reference": "Group/g"}}, "invalid_value"),
    ("DocumentReference", {"id": "d-nodate", "date": None}, "missing_field"),
    ("DocumentReference", {"id": "d-baddate", "date": "2020-02-30T00:00:00Z"}, "invalid_date"),
    ("DiagnosticReport", {"id": "r-nodate", "effectivePeriod": None}, "missing_field"),
    (
        "DocumentReference",
        {"id": "d-notb64", "content": [{"attachment": {**TEXT, "data": "no!"}}]},
        "invalid_value",
    ),
    (
        "DocumentReference",
        {"id": "d-notutf8", "content": [{"attachment": {**TEXT, "data": b64(b"\xff\xfe")}}]},
        "invalid_value",
    ),
    (
        "DiagnosticReport",
        {"id": "r-nosubject-notext", "subject": None, "presentedForm": None},
        "missing_field",
    ),
]
ODD = [
    (
        "DocumentReference",
        {
            "id": "o1",
            "content": [{"attachment": {**TEXT, "contentType": "text/plain; charset=latin-1"}}],
        },
    ),
    ("DocumentReference", {"id": "o2", "content": [{"attachment": {**TEXT, "data": "QQ"}}]}),
    (
        "DocumentReference",
        {"id": "o3", "content": [{"attachment": {**TEXT, "data": "QUJD\u00a0"}}]},
    ),
    ("DocumentReference", {"id": "o4", "content": [TEXT]}),
    ("DiagnosticReport", {"id": "o5", "presentedForm": [{"attachment": TEXT}]}),
    ("DocumentReference", {"id": "o6", "content": [{"attachment": {**TEXT, "contentType": 5}}]}),
    ("DocumentReference", {"id": "o7", "author": {"reference": "Practitioner/d1"}}),
    ("DiagnosticReport", {"id": "o8", "modifierExtension": [{"url": "http://x.org/n"}]}),
    ("DocumentReference", {"id": "o9", "content": [{"attachment": {**TEXT, "language": ["en"]}}]}),
]


def _resource(rtype: str, change: dict) -> dict:
    return {k: v for k, v in {**BASE[rtype], **change}.items() if v is not None}


def _load(tmp_path, items):
    f = tmp_path / "notes.ndjson"
    f.write_text("".join(json.dumps(x) + "\n" for x in [PATIENT, *items]))
    return Warehouse(per_resource_load(f, tmp_path / "w.duckdb"))


@pytest.mark.parametrize("plain", [False, True], ids=["view", "plain"])
def test_text_skips_and_reason_codes_are_the_loaders(tmp_path, plain):
    cases = [*GOOD, *SKIPPED, *((t, c) for t, c, _ in BAD)]
    with _load(tmp_path, [_resource(t, c) for t, c in cases]) as wh:
        got = compare(wh, mapped_notes(wh.con, of_types(*TYPES), plain=plain), "note", "note_id")
        q = wh.con.execute
        loader = dict(q("SELECT location, reason_code FROM mm_quarantine").fetchall())
        sql = dict(
            q("SELECT location, reason_code FROM mc WHERE reason_code IS NOT NULL").fetchall()
        )
        loader_skips = q(
            "SELECT source_key FROM mc WHERE location NOT IN (SELECT location FROM mm_quarantine) "
            "AND note_id NOT IN (SELECT note_id FROM note) ORDER BY ALL"
        ).fetchall()
        sql_skips = q(
            "SELECT source_key FROM mc WHERE skip_code = 'not_mapped' ORDER BY ALL"
        ).fetchall()
        rows = {
            r[0]: r[1:]
            for r in q(
                "SELECT source_key, note_text, note_title, note_source_value, language_concept_id, "
                "provider_type, note_datetime::VARCHAR FROM mc WHERE reason_code IS NULL "
                "AND skip_code IS NULL"
            ).fetchall()
        }
        irregular = q("SELECT count(*) FROM mc WHERE NOT regular").fetchall()
    first_bad = 2 + len(GOOD) + len(SKIPPED)
    want = {f"line {i}": reason for i, (*_, reason) in enumerate(BAD, start=first_bad)}
    assert loader == want and sql == want
    assert loader_skips == sql_skips == sorted((f"{t}/{c['id']}",) for t, c in SKIPPED)
    assert got == {"loaded": len(GOOD), "regular": len(GOOD), "extra": 0, "missing": 0}
    assert irregular == [(0,)]
    # what the comparison above covers, spelled out
    assert rows["DocumentReference/d-ok"] == (
        "Héllo\nworld",
        "H&P note",
        "LOINC:34117-2",
        4180186,
        "Practitioner",
        "2020-01-02 01:04:05",
    )
    assert rows["DiagnosticReport/r-ok"][:4] == (
        "No acute findings.",
        "Chest X-ray report",
        None,
        4180186,
    )
    assert rows["DiagnosticReport/r-ok"][4] == "Practitioner"
    assert rows["DocumentReference/d-mime"][0] == "Hello"
    assert rows["DocumentReference/d-fr"][3] == 0 and rows["DocumentReference/d-en"][3] == 4180186
    assert rows["DocumentReference/d-second"][0] == "Héllo\nworld"
    assert rows["DocumentReference/d-empty"][0] == ""
    assert rows["DiagnosticReport/r-issued"][5] == "2021-05-06 23:00:00.5"


@pytest.mark.parametrize("plain", [False, True], ids=["view", "plain"])
def test_irregular_shapes_are_marked_for_the_per_resource_mapper(tmp_path, plain):
    items = [_resource(t, {}) for t in BASE] + [_resource(t, c) for t, c in ODD]
    with _load(tmp_path, items) as wh:
        wh.con.execute(
            f"CREATE TEMP TABLE mc AS {mapped_notes(wh.con, of_types(*TYPES), plain=plain)}"
        )
        got = dict(wh.con.execute("SELECT source_key, regular FROM mc").fetchall())
    want = {f"{t}/{r['id']}": True for t, r in BASE.items()}
    want |= {f"{t}/{c['id']}": False for t, c in ODD}
    assert got == want


def test_setwise_mappings_leave_skips_to_the_per_resource_mapper(tmp_path):
    pytest.importorskip("medmine.ingest.fhir._setwise")
    mappings = note_mappings()
    assert set(mappings) == set(TYPES)
    items = [_resource(t, {}) for t in BASE] + [_resource(t, c) for t, c in SKIPPED[:2]]
    with _load(tmp_path, items) as wh:
        for rtype, m in mappings.items():
            wh.con.execute(
                f"CREATE OR REPLACE TEMP TABLE mc AS {m.sql(wh.con, of_types(rtype), '')}"
            )
            cols = {c[0] for c in wh.con.execute("DESCRIBE mc").fetchall()}
            got = wh.con.execute("SELECT skip_code, regular FROM mc ORDER BY ALL").fetchall()
            assert mapping_columns(m) <= cols, rtype
            assert got == [("not_mapped", False), (None, True)], rtype
