"""AllergyIntolerance -> observation as a ViewDefinition run set-wise: equal to the loader."""

from __future__ import annotations

import json

import pytest

from medmine.fhir.views import validate_view
from medmine.ingest.fhir._viewmap_allergy import allergy_mapping, mapped_allergies
from medmine.ingest.fhir._viewmap_base import view_file
from medmine.warehouse import Warehouse
from tests.ingest._viewmap_sample import (
    compare,
    mapping_columns,
    of_types,
    per_resource_load,
    sample_warehouse,
)

KEY = "observation_id"


def test_view_is_a_documented_view_definition():
    view = view_file("observation_allergy_intolerance")
    validate_view(view)
    assert view["resource"] == "AllergyIntolerance" and view["description"]
    assert all(c.get("description") for c in view["select"][0]["column"])


@pytest.mark.parametrize("plain", [False, True], ids=["view", "plain"])
def test_rows_equal_the_loaders_on_the_sample(plain):
    with Warehouse(sample_warehouse()) as wh:
        sql = mapped_allergies(wh.con, of_types("AllergyIntolerance"), plain=plain)
        got = compare(wh, sql, "observation", KEY)
    assert got == {"loaded": 139, "regular": 139, "extra": 0, "missing": 0}


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
GOOD = {
    "resourceType": "AllergyIntolerance",
    "id": "a-ok",
    "patient": {"reference": "Patient/p1"},
    "encounter": {"reference": "Encounter/e1"},
    "type": "intolerance",
    "category": ["food"],
    "criticality": "high",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91935009"}]},
    "onsetDateTime": "2001-02-03T04:05:06-05:00",
}
GOOD_TOO = [
    {"id": "a-plain", "type": None, "category": None, "criticality": None},
    {"id": "a-text", "code": {"text": "cat dander"}, "category": []},
    {"id": "a-period", "onsetDateTime": None, "onsetPeriod": {"start": "1999"}},
    {"id": "a-recorded", "onsetDateTime": None, "recordedDate": "2010-10-10"},
]
BAD = [
    ({"id": "a-nopatient", "patient": None}, "missing_field"),
    ({"id": "a-dangling", "patient": {"reference": "Patient/x"}}, "dangling_reference"),
    ({"id": "a-wrongtype", "patient": {"reference": "Practitioner/d1"}}, "invalid_value"),
    ({"id": "a-nocode", "code": None}, "missing_field"),
    ({"id": "a-nodate", "onsetDateTime": None}, "missing_field"),
    ({"id": "a-baddate", "onsetDateTime": "2001-02-29"}, "invalid_date"),
]
ODD = [
    {"id": "o1", "category": "food"},
    {"id": "o2", "category": [{"text": "food"}]},
    {"id": "o3", "type": {"text": "allergy"}},
    {"id": "o4", "criticality": 3},
    {"id": "o5", "onsetDateTime": "2001-02-03T04:05"},
    {"id": "o6", "reaction": [{"modifierExtension": [{"url": "http://x.org/n"}]}]},
]


def _lines(items: list[dict]) -> list[dict]:
    return [{k: v for k, v in {**GOOD, **change}.items() if v is not None} for change in items]


def _load(tmp_path, items):
    f = tmp_path / "AllergyIntolerance.ndjson"
    f.write_text("".join(json.dumps(x) + "\n" for x in [PATIENT, *items]))
    return Warehouse(per_resource_load(f, tmp_path / "w.duckdb"))


@pytest.mark.parametrize("plain", [False, True], ids=["view", "plain"])
def test_quarantine_predicates_give_the_loaders_reason_codes(tmp_path, plain):
    items = [GOOD, *_lines(GOOD_TOO), *_lines([c for c, _ in BAD])]
    with _load(tmp_path, items) as wh:
        got = compare(
            wh,
            mapped_allergies(wh.con, of_types("AllergyIntolerance"), plain=plain),
            "observation",
            KEY,
        )
        q = wh.con.execute
        loader = dict(q("SELECT location, reason_code FROM mm_quarantine").fetchall())
        sql = dict(
            q("SELECT location, reason_code FROM mc WHERE reason_code IS NOT NULL").fetchall()
        )
        rows = dict(
            q(
                "SELECT source_key, (value_as_string, qualifier_source_value, "
                "observation_source_value, observation_datetime::VARCHAR) FROM mc "
                "WHERE reason_code IS NULL"
            ).fetchall()
        )
        irregular = q("SELECT count(*) FROM mc WHERE NOT regular").fetchall()
    want = {f"line {i}": reason for i, (_, reason) in enumerate(BAD, start=3 + len(GOOD_TOO))}
    assert loader == want and sql == want
    assert got == {"loaded": 5, "regular": 5, "extra": 0, "missing": 0}
    assert irregular == [(0,)]
    assert rows["AllergyIntolerance/a-ok"] == (
        "intolerance:food",
        "high",
        "SNOMED:91935009",
        "2001-02-03 09:05:06",
    )
    assert rows["AllergyIntolerance/a-plain"][:2] == ("allergy", None)
    assert rows["AllergyIntolerance/a-text"][::2] == ("intolerance", "cat dander")
    assert rows["AllergyIntolerance/a-period"][3] is None


@pytest.mark.parametrize("plain", [False, True], ids=["view", "plain"])
def test_irregular_shapes_are_marked_for_the_per_resource_mapper(tmp_path, plain):
    with _load(tmp_path, [GOOD, *_lines(ODD)]) as wh:
        sql = mapped_allergies(wh.con, of_types("AllergyIntolerance"), plain=plain)
        wh.con.execute(f"CREATE TEMP TABLE mc AS {sql}")
        got = dict(wh.con.execute("SELECT source_key, regular FROM mc").fetchall())
    assert got == {"AllergyIntolerance/a-ok": True} | {
        f"AllergyIntolerance/{o['id']}": False for o in ODD
    }


def test_setwise_mapping_names_columns_of_the_sql(tmp_path):
    pytest.importorskip("medmine.ingest.fhir._setwise")
    m = allergy_mapping()
    with _load(tmp_path, [GOOD]) as wh:
        wh.con.execute(f"CREATE TEMP TABLE mc AS {m.sql(wh.con, of_types(m.resource_type), '')}")
        cols = {c[0] for c in wh.con.execute("DESCRIBE mc").fetchall()}
    assert mapping_columns(m) <= cols and m.resource_type == "AllergyIntolerance"
