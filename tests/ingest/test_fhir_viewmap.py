"""The FHIR -> OMOP mapping as a ViewDefinition run set-wise: equal to the per-resource loader."""

from __future__ import annotations

import json

import pytest

from medmine.fhir.views import validate_view
from medmine.ingest.fhir import load
from medmine.ingest.fhir._viewmap import (
    MAPPING_VIEWS,
    mapped_conditions,
    mapping_view,
    register,
    resolve_sql,
)
from medmine.warehouse import Warehouse, stable_id
from tests.conftest import FHIR_SAMPLES

ALL_CONDITIONS = (
    "SELECT row_number() OVER (ORDER BY source_file, location) AS seq, source_file, location, "
    "resource FROM mm_fhir_resource WHERE resource_type = 'Condition'"
)


def _compare(wh: Warehouse) -> tuple[int, int, int]:
    wh.con.execute(
        f"CREATE OR REPLACE TEMP TABLE mc AS {mapped_conditions(wh.con, ALL_CONDITIONS)}"
    )
    mine = {c[0] for c in wh.con.execute("DESCRIBE mc").fetchall()}
    cols = ", ".join(
        c[0] for c in wh.con.execute("DESCRIBE condition_occurrence").fetchall() if c[0] in mine
    )
    extra = wh.con.execute(
        f"SELECT count(*) FROM (SELECT {cols} FROM mc WHERE reason_code IS NULL "
        f"EXCEPT SELECT {cols} FROM condition_occurrence)"
    ).fetchall()[0][0]
    missing = wh.con.execute(
        f"SELECT count(*) FROM (SELECT {cols} FROM condition_occurrence "
        f"EXCEPT SELECT {cols} FROM mc WHERE reason_code IS NULL)"
    ).fetchall()[0][0]
    n = wh.con.execute("SELECT count(*) FROM mc WHERE reason_code IS NULL AND regular").fetchall()
    return extra, missing, n[0][0]


def test_mapping_views_are_valid_view_definitions():
    for table in MAPPING_VIEWS:
        view = mapping_view(table)
        validate_view(view)
        assert view["name"] == table and view["description"]


def test_condition_view_gives_the_loaders_rows_on_the_sample(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        load([FHIR_SAMPLES], wh)
        assert _compare(wh) == (0, 0, 6611)


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
CODE = {"coding": [{"system": "http://snomed.info/sct", "code": "44054006", "display": "Diabetes"}]}
GOOD = {
    "resourceType": "Condition",
    "id": "c-ok",
    "subject": {"reference": "Patient/p1"},
    "encounter": {"reference": "https://ehr.example/fhir/Encounter/e1/_history/2"},
    "code": CODE,
    "onsetDateTime": "2020-01-02T03:04:05+02:00",
    "clinicalStatus": {"coding": [{"code": "active"}]},
}
BAD = [
    ({"id": "c-nosubject", "subject": None}, "missing_field"),
    ({"id": "c-dangling", "subject": {"reference": "Patient/nobody"}}, "dangling_reference"),
    ({"id": "c-wrongtype", "subject": {"reference": "Encounter/e1"}}, "invalid_value"),
    (
        {"id": "c-nocode", "code": {"coding": [{"system": "http://snomed.info/sct"}]}},
        "missing_field",
    ),
    ({"id": "c-nodate", "onsetDateTime": None}, "missing_field"),
    ({"id": "c-baddate", "onsetDateTime": "2020-02-30"}, "invalid_date"),
    ({"id": "c-badend", "abatementDateTime": "2021-13"}, "invalid_date"),
]


def test_quarantine_predicates_give_the_loaders_reason_codes(tmp_path):
    lines = [PATIENT, GOOD, {**GOOD, "id": "c-text", "code": {"text": "sugar trouble"}}]
    for change, _ in BAD:
        lines.append({k: v for k, v in {**GOOD, **change}.items() if v is not None})
    f = tmp_path / "Condition.ndjson"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        load(f, wh)
        assert _compare(wh) == (0, 0, 2)
        loader = dict(wh.con.execute("SELECT location, reason_code FROM mm_quarantine").fetchall())
        sql = dict(
            wh.con.execute(
                "SELECT location, reason_code FROM mc WHERE reason_code IS NOT NULL"
            ).fetchall()
        )
        text = wh.con.execute(
            "SELECT condition_source_value FROM mc WHERE source_key = 'Condition/c-text'"
        ).fetchall()
    want = {f"line {i}": reason for i, (_, reason) in enumerate(BAD, start=4)}
    assert loader == want and sql == want
    assert text == [("sugar trouble",)]


def test_irregular_shapes_are_marked_for_the_per_resource_mapper(tmp_path):
    odd = [
        {**GOOD, "id": "o1", "code": {"coding": [{"code": 123, "system": "http://loinc.org"}]}},
        {**GOOD, "id": "o2", "subject": {"reference": "Patient?identifier=http://h.org|1"}},
        {**GOOD, "id": "o3", "onsetDateTime": "2020-01-02 10:00"},
        {**GOOD, "id": "o4", "modifierExtension": [{"url": "http://x.org/not"}]},
    ]
    f = tmp_path / "Condition.ndjson"
    f.write_text("".join(json.dumps(x) + "\n" for x in [PATIENT, GOOD, *odd]))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        load(f, wh)
        wh.con.execute(f"CREATE TEMP TABLE mc AS {mapped_conditions(wh.con, ALL_CONDITIONS)}")
        got = dict(wh.con.execute("SELECT source_key, regular FROM mc").fetchall())
    assert got == {
        "Condition/c-ok": True,
        "Condition/o1": False,
        "Condition/o2": False,
        "Condition/o3": False,
        "Condition/o4": False,
    }


@pytest.fixture
def refs_wh():
    wh = Warehouse(":memory:")
    rows = [
        ("b.json", "entry[0]", "Patient", "p1", "urn:uuid:aaa", "{}"),
        ("b.json", "entry[1]", "Practitioner", "d1", "http://h.org/fhir/Practitioner/d1", "{}"),
        (
            "m.ndjson",
            "line 1",
            "MedicationRequest",
            "m1",
            None,
            json.dumps({"contained": [{"resourceType": "Medication", "id": "med"}]}),
        ),
    ]
    for i, r in enumerate(rows, start=1):
        wh.con.execute(
            "INSERT INTO mm_fhir_resource VALUES (?, ?, ?, 'x', 'l1', ?, ?, ?, ?)",
            [i, *r],
        )
    wh.con.execute(
        "INSERT INTO mm_identifier VALUES ('provider', 42, 'http://hl7.org/fhir/sid/us-npi', "
        "'999', NULL)"
    )
    register(wh.con)
    yield wh
    wh.close()


@pytest.mark.parametrize(
    ("source_file", "location", "ref", "want"),
    [
        ("b.json", "entry[2]", "urn:uuid:aaa", ("Patient", "p1")),
        ("other.json", "entry[0]", "urn:uuid:aaa", (None, None)),  # another Bundle's entry
        ("b.json", "entry[2]", "http://h.org/fhir/Practitioner/d1", ("Practitioner", "d1")),
        ("x.ndjson", "line 1", "Patient/p9", ("Patient", "p9")),
        ("x.ndjson", "line 1", "https://s.org/fhir/Encounter/e1/_history/3", ("Encounter", "e1")),
        (
            "x.ndjson",
            "line 1",
            "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|999",
            ("Practitioner", "42"),
        ),
        (
            "x.ndjson",
            "line 1",
            "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|1",
            (None, None),
        ),
        ("m.ndjson", "line 1", "#med", ("Medication", "#med")),
        ("m.ndjson", "line 1", "#nope", (None, "#nope")),
        ("x.ndjson", "line 1", "not a reference", (None, None)),
    ],
)
def test_references_resolve_by_joins(refs_wh, source_file, location, ref, want):
    rows = "SELECT ? AS source_file, ? AS location, ? AS ref"
    got = refs_wh.con.execute(
        f"SELECT ref_type, ref_key FROM ({resolve_sql(rows, 'ref')})",
        [source_file, location, ref],
    ).fetchall()
    assert got == [want]


def test_stable_ids_match_the_loaders(refs_wh):
    got = refs_wh.con.execute("SELECT mm_stable_id('fhir:Patient', 'p1')").fetchall()
    assert got == [(stable_id("fhir:Patient", "p1"),)]
