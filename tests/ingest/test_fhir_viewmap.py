"""The FHIR -> OMOP mapping as a ViewDefinition run set-wise: equal to the per-resource loader."""

from __future__ import annotations

import json

import pyarrow.compute as pc
import pytest

from medmine.fhir.views import validate_view
from medmine.ingest.fhir import _load, load
from medmine.ingest.fhir._setwise import apply
from medmine.ingest.fhir._viewmap import (
    MAPPING_VIEWS,
    fast_conditions,
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


def _same_rows(wh: Warehouse) -> int:
    """The loader's fast Condition SQL marks the same resources regular as the view and gives
    their rows exactly (the others go to the per-resource mapper); returns how many rows.
    """
    view = wh.con.sql(mapped_conditions(wh.con, ALL_CONDITIONS)).to_arrow_table()
    fast = wh.con.sql(fast_conditions(wh.con, ALL_CONDITIONS)).to_arrow_table()
    assert fast.column_names == view.column_names
    order = [("seq", "ascending")]
    view, fast = view.sort_by(order), fast.sort_by(order)
    # NULL is not regular (the loader reads coalesce(regular, false))
    regular = pc.fill_null(view["regular"], False)
    assert pc.fill_null(fast["regular"], False).equals(regular)
    view = view.set_column(view.column_names.index("regular"), "regular", regular)
    assert fast.filter(fast["regular"]).equals(view.filter(regular))
    return fast.num_rows


def test_condition_view_gives_the_loaders_rows_on_the_sample(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        load([FHIR_SAMPLES], wh)
        assert _compare(wh) == (0, 0, 6611)
        assert _same_rows(wh) == 6611


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


def test_fast_condition_sql_equals_the_view_on_bad_inputs(tmp_path):
    lines = [PATIENT, GOOD, {**GOOD, "id": "c-text", "code": {"text": "sugar trouble"}}]
    lines += [{k: v for k, v in {**GOOD, **c}.items() if v is not None} for c, _ in BAD]
    lines += [
        {**GOOD, "id": "o1", "code": {"coding": [{"code": 123, "system": "http://loinc.org"}]}},
        {**GOOD, "id": "o2", "subject": {"reference": "Patient?identifier=http://h.org|1"}},
        {**GOOD, "id": "o4", "modifierExtension": [{"url": "http://x.org/not"}]},
        {**GOOD, "id": "o5", "asserter": {"display": "Dr No"}, "recorder": {"reference": "P/1"}},
    ]
    f = tmp_path / "Condition.ndjson"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        load(f, wh)
        assert _same_rows(wh) == len(lines) - 1


def test_load_maps_plain_conditions_set_wise_and_odd_ones_per_resource(tmp_path, monkeypatch):
    done = []

    def spy(s, m, source):
        got = apply(s, m, source)
        done.append((m.resource_type, got.loaded, len(got.fallback)))
        return got

    monkeypatch.setattr(_load, "apply", spy)
    lines = [PATIENT, GOOD, {**GOOD, "id": "c-dup"}, {**GOOD, "id": "c-dup"}]
    lines.append({**GOOD, "id": "c-urn", "encounter": {"reference": "urn:uuid:0000"}})
    lines.append({**GOOD, "id": "c-org", "asserter": {"reference": "Organization/o1"}})
    lines += [{k: v for k, v in {**GOOD, **c}.items() if v is not None} for c, _ in BAD]
    lines.append({**GOOD, "id": "o2", "subject": {"reference": "Patient?identifier=h|1"}})
    f = tmp_path / "Condition.ndjson"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(f, wh, setwise=True)
        refs = wh.con.execute(
            "SELECT row_id, column_name, target_type, resolved_id FROM mm_reference ORDER BY 2"
        ).fetchall()
    # c-ok, c-dup (twice), c-urn and c-org set-wise; the bad ones and o2 by the mapper
    assert done == [("Condition", 4, len(BAD) + 1)]
    c = r.counts["Condition"]
    assert (c.read, c.loaded, c.skipped, c.quarantined) == (len(lines) - 1, 4, 1, len(BAD) + 1)
    # an unresolved reference is kept with a warning; one to another type is kept resolved
    assert refs == [
        (stable_id("fhir:Condition", "c-org"), "provider_id", "Organization",
         stable_id("fhir:Organization", "o1")),
        (stable_id("fhir:Condition", "c-urn"), "visit_occurrence_id", "Encounter", None),
    ]  # fmt: skip
    assert c.warnings == 1
