"""Procedure -> procedure_occurrence as a ViewDefinition run set-wise: equal to the loader."""

from __future__ import annotations

import json

import pytest

from medmine.fhir.views import validate_view
from medmine.ingest.fhir._viewmap_base import plain_column, view_file
from medmine.ingest.fhir._viewmap_procedure import mapped_procedures, procedure_mapping
from medmine.warehouse import Warehouse
from tests.ingest._viewmap_sample import (
    compare,
    mapping_columns,
    of_types,
    per_resource_load,
    sample_warehouse,
)

KEY = "procedure_occurrence_id"


def test_view_is_a_documented_view_definition():
    view = view_file("procedure_occurrence")
    validate_view(view)
    assert view["resource"] == "Procedure" and view["description"]
    assert all(c.get("description") for c in view["select"][0]["column"])


@pytest.mark.parametrize("plain", [False, True], ids=["view", "plain"])
def test_rows_equal_the_loaders_on_the_sample(plain):
    with Warehouse(sample_warehouse()) as wh:
        got = compare(
            wh,
            mapped_procedures(wh.con, of_types("Procedure"), plain=plain),
            "procedure_occurrence",
            KEY,
        )
        n = wh.con.execute("SELECT count(*) FROM procedure_occurrence").fetchall()[0][0]
    assert got == {"loaded": 13670, "regular": 13670, "extra": 0, "missing": 0}
    assert n == 13670


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
GOOD = {
    "resourceType": "Procedure",
    "id": "pr-ok",
    "subject": {"reference": "Patient/p1"},
    "encounter": {"reference": "https://ehr.example/fhir/Encounter/e1/_history/2"},
    "performer": [{"actor": {"reference": "Practitioner/d1"}}],
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "80146002"}]},
    "performedPeriod": {"start": "2020-01-02T03:04:05+02:00", "end": "2020-01-02T05:00:00Z"},
}
GOOD_TOO = [
    {"id": "pr-text", "code": {"text": "appendectomy"}},
    {"id": "pr-date", "performedPeriod": None, "performedDateTime": "2019-03"},
    {"id": "pr-org", "performer": [{"actor": {"reference": "Organization/o1"}}]},
    {"id": "pr-noactor", "performer": [{"function": {"text": "surgeon"}}]},
]
BAD = [
    ({"id": "pr-nosubject", "subject": None}, "missing_field"),
    ({"id": "pr-dangling", "subject": {"reference": "Patient/nobody"}}, "dangling_reference"),
    ({"id": "pr-urn", "subject": {"reference": "urn:uuid:0000"}}, "dangling_reference"),
    ({"id": "pr-wrongtype", "subject": {"reference": "Group/g1"}}, "invalid_value"),
    (
        {"id": "pr-nocode", "code": {"coding": [{"system": "http://snomed.info/sct"}]}},
        "missing_field",
    ),
    ({"id": "pr-blank", "code": {"text": " \t"}}, "missing_field"),
    ({"id": "pr-nodate", "performedPeriod": {"end": "2020-01-02"}}, "missing_field"),
    (
        {"id": "pr-baddate", "performedPeriod": None, "performedDateTime": "2020-02-30"},
        "invalid_date",
    ),
    (
        {"id": "pr-badend", "performedPeriod": {"start": "2020-01-01", "end": "2021-13"}},
        "invalid_date",
    ),
    (
        {
            "id": "pr-dt-wins",
            "performedDateTime": "2020-99-01",
            "performedPeriod": {"start": "2020"},
        },
        "invalid_date",
    ),
]


def _lines(items: list[dict]) -> list[dict]:
    return [{k: v for k, v in {**GOOD, **change}.items() if v is not None} for change in items]


@pytest.mark.parametrize("plain", [False, True], ids=["view", "plain"])
def test_quarantine_predicates_give_the_loaders_reason_codes(tmp_path, plain):
    lines = [PATIENT, GOOD, *_lines(GOOD_TOO), *_lines([c for c, _ in BAD])]
    f = tmp_path / "Procedure.ndjson"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with Warehouse(per_resource_load(f, tmp_path / "w.duckdb")) as wh:
        got = compare(
            wh,
            mapped_procedures(wh.con, of_types("Procedure"), plain=plain),
            "procedure_occurrence",
            KEY,
        )
        loader = dict(wh.con.execute("SELECT location, reason_code FROM mm_quarantine").fetchall())
        sql = dict(
            wh.con.execute(
                "SELECT location, reason_code FROM mc WHERE reason_code IS NOT NULL"
            ).fetchall()
        )
        rows = dict(
            wh.con.execute(
                "SELECT source_key, (procedure_source_value, provider_id IS NULL, provider_type, "
                "procedure_date::VARCHAR, procedure_end_datetime::VARCHAR) FROM mc "
                "WHERE reason_code IS NULL"
            ).fetchall()
        )
        irregular = wh.con.execute("SELECT count(*) FROM mc WHERE NOT regular").fetchall()
    want = {f"line {i}": reason for i, (_, reason) in enumerate(BAD, start=3 + len(GOOD_TOO))}
    assert loader == want and sql == want
    assert got == {"loaded": 5, "regular": 5, "extra": 0, "missing": 0}
    assert irregular == [(0,)]
    assert rows["Procedure/pr-ok"] == (
        "SNOMED:80146002",
        False,
        "Practitioner",
        "2020-01-02",
        "2020-01-02 05:00:00",
    )
    assert rows["Procedure/pr-text"][0] == "appendectomy"
    assert rows["Procedure/pr-date"][3:] == ("2019-03-01", None)
    assert rows["Procedure/pr-org"][1:3] == (True, "Organization")


def test_a_patient_missing_from_the_load_is_a_dangling_reference(tmp_path):
    f = tmp_path / "Procedure.ndjson"
    f.write_text(json.dumps({**GOOD, "subject": {"reference": "Patient/p2"}}) + "\n")
    with Warehouse(per_resource_load(f, tmp_path / "w.duckdb")) as wh:
        loader = wh.con.execute("SELECT reason_code FROM mm_quarantine").fetchall()
        wh.con.execute(
            f"CREATE TEMP TABLE mc AS {mapped_procedures(wh.con, of_types('Procedure'))}"
        )
        sql = wh.con.execute("SELECT reason_code, regular FROM mc").fetchall()
    assert loader == [("dangling_reference",)] and sql == [("dangling_reference", True)]


@pytest.mark.parametrize("plain", [False, True], ids=["view", "plain"])
def test_irregular_shapes_are_marked_for_the_per_resource_mapper(tmp_path, plain):
    odd = [
        {"id": "o1", "code": {"coding": [{"code": 123, "system": "http://snomed.info/sct"}]}},
        {"id": "o2", "subject": {"reference": "Patient?identifier=http://h.org|1"}},
        {"id": "o3", "performedPeriod": {"start": "2020-01-02 10:00"}},
        {"id": "o4", "modifierExtension": [{"url": "http://x.org/not"}]},
        {"id": "o5", "performer": [{"reference": "Practitioner/d1"}]},
        {"id": "o6", "encounter": {"reference": "#enc"}},
        {"id": "o7", "performedPeriod": "2020-01-01"},
        {"id": "o8", "code": {"coding": [{"code": "1", "display": {"x": 1}}]}},
    ]
    f = tmp_path / "Procedure.ndjson"
    f.write_text("".join(json.dumps(x) + "\n" for x in [PATIENT, GOOD, *_lines(odd)]))
    with Warehouse(per_resource_load(f, tmp_path / "w.duckdb")) as wh:
        sql = mapped_procedures(wh.con, of_types("Procedure"), plain=plain)
        wh.con.execute(f"CREATE TEMP TABLE mc AS {sql}")
        got = dict(wh.con.execute("SELECT source_key, regular FROM mc").fetchall())
    assert got == {"Procedure/pr-ok": True} | {f"Procedure/{o['id']}": False for o in odd}


def test_setwise_mapping_names_columns_of_the_sql(tmp_path):
    pytest.importorskip("medmine.ingest.fhir._setwise")
    f = tmp_path / "Procedure.ndjson"
    f.write_text(json.dumps(PATIENT) + "\n" + json.dumps(GOOD) + "\n")
    mapping = procedure_mapping()
    with Warehouse(per_resource_load(f, tmp_path / "w.duckdb")) as wh:
        wh.con.execute(f"CREATE TEMP TABLE mc AS {mapping.sql(wh.con, of_types('Procedure'), '')}")
        cols = {c[0] for c in wh.con.execute("DESCRIBE mc").fetchall()}
    assert mapping_columns(mapping) <= cols and mapping.resource_type == "Procedure"


@pytest.mark.parametrize(
    ("path", "typ", "want"),
    [
        ("getResourceKey()", "string", "(f.\"id\" ->> '$')"),
        ("subject.reference", "string", "(f.\"subject\" ->> '$.reference')"),
        (
            "performer.first().actor.reference",
            "string",
            "(f.\"performer\" ->> '$[0].actor.reference')",
        ),
        ("performed.ofType(Period).end", "string", "(f.\"performedPeriod\" ->> '$.end')"),
        ("doseQuantity.value", "decimal", "TRY_CAST((f.\"doseQuantity\" ->> '$.value') AS DOUBLE)"),
        ("performer.exists()", "boolean", '(f."performer" IS NOT NULL)'),
    ],
)
def test_plain_paths_translate_the_views_fhirpath(path, typ, want):
    assert plain_column(path, typ) == want


@pytest.mark.parametrize(
    "path",
    [
        "code.coding.where(system.exists()).first().code",
        "name.given.join(' ')",
        "a.where(b = 1)",
        "%x.y",
        "a[0]",
    ],
)
def test_plain_paths_refuse_other_fhirpath(path):
    with pytest.raises(ValueError, match="not a plain path"):
        plain_column(path, "string")
