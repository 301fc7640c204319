"""Valid R4 read as such: resource identity from fullUrl in document and collection Bundles,
and the date of an undated Observation found across the NDJSON files of a load.
"""

from __future__ import annotations

import json
from pathlib import Path

from medmine.ingest.fhir import load
from medmine.warehouse import Warehouse, stable_id

PATIENT = {"resourceType": "Patient", "id": "1", "gender": "female", "birthDate": "1970-01-01"}
OBS = {
    "resourceType": "Observation",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
    "valueQuantity": {"value": 72, "unit": "/min", "code": "/min"},
}


def _bundle(path: Path, btype: str, base: str, birth: str, value: float) -> Path:
    entries = [
        {"fullUrl": f"{base}/Patient/1", "resource": {**PATIENT, "birthDate": birth}},
        {
            "fullUrl": f"{base}/Observation/o1",
            "resource": {
                **OBS,
                "id": "o1",
                "subject": {"reference": "Patient/1"},  # relative: resolves inside the Bundle
                "effectiveDateTime": "2021-03-04",
                "valueQuantity": {**OBS["valueQuantity"], "value": value},
            },
        },
    ]
    path.write_text(json.dumps({"resourceType": "Bundle", "type": btype, "entry": entries}))
    return path


def _people(wh):
    return wh.con.execute(
        "SELECT p.year_of_birth, m.value_as_number FROM person p JOIN measurement m "
        "USING (person_id) ORDER BY 1"
    ).fetchall()


def test_same_type_id_in_two_collection_bundles_are_two_resources(tmp_path):
    a = _bundle(tmp_path / "a.json", "collection", "http://a.example/fhir", "1970-01-01", 70)
    b = _bundle(tmp_path / "b.json", "document", "http://b.example/fhir", "1980-01-01", 80)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load([a, b], wh)
        assert r.reconciles and r.totals.skipped == 0
        assert (r.counts["Patient"].loaded, r.counts["Observation"].loaded) == (2, 2)
        # each Observation belongs to the Patient of its own Bundle
        assert _people(wh) == [(1970, 70.0), (1980, 80.0)]
        ids = {x[0] for x in wh.con.execute("SELECT person_id FROM person").fetchall()}
        assert ids == {
            stable_id("fhir:Patient", "http://a.example/fhir/Patient/1"),
            stable_id("fhir:Patient", "http://b.example/fhir/Patient/1"),
        }


def test_the_same_full_url_in_two_collection_bundles_is_one_resource(tmp_path):
    a = _bundle(tmp_path / "a.json", "collection", "http://a.example/fhir", "1970-01-01", 70)
    b = _bundle(tmp_path / "b.json", "collection", "http://a.example/fhir", "1970-01-01", 70)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load([a, b], wh)
        assert r.reconciles
        assert r.counts["Patient"].loaded == 1 and r.skip_reasons == {"duplicate": 2}
        assert wh.count("person") == 1


def test_transaction_bundles_keep_type_id_identity(tmp_path):
    a = _bundle(tmp_path / "a.json", "transaction", "http://a.example/fhir", "1970-01-01", 70)
    b = _bundle(tmp_path / "b.json", "transaction", "http://b.example/fhir", "1980-01-01", 80)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load([a, b], wh)
        assert r.reconciles and r.skip_reasons == {"duplicate": 2}
        pid = wh.con.execute("SELECT person_id FROM person").fetchall()
        assert pid == [(stable_id("fhir:Patient", "1"),)]


def test_a_urn_uuid_full_url_equal_to_the_id_keeps_the_id(tmp_path):
    entries = [{"fullUrl": "urn:uuid:5b1c", "resource": {**PATIENT, "id": "5b1c"}}]
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        load(f, wh)
        got = wh.con.execute("SELECT person_id FROM person").fetchall()
    assert got == [(stable_id("fhir:Patient", "5b1c"),)]


# ---- an undated Observation across NDJSON files: report, else encounter, else issued ----
def _ndjson(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in items))
    return path


def _undated(oid: str, **more) -> dict:
    return {**OBS, "id": oid, "subject": {"reference": "Patient/1"}, **more}


def test_undated_observation_takes_dates_from_other_ndjson_files(tmp_path):
    enc = {"reference": "Encounter/e1"}
    _ndjson(tmp_path / "Patient.ndjson", [PATIENT])
    _ndjson(
        tmp_path / "Observation.ndjson",
        [
            _undated("o-report", encounter=enc, issued="2020-05-05T00:00:00Z"),
            _undated("o-enc", encounter=enc, issued="2020-05-05T00:00:00Z"),
            _undated("o-issued", issued="2020-04-01T08:00:00+02:00"),
            _undated("o-none"),
            _undated("o-own", effectiveDateTime="2019-01-01"),
        ],
    )
    # read after the Observations (file order), and referring by absolute URL
    _ndjson(
        tmp_path / "zz_reports.ndjson",
        [
            {
                "resourceType": "DiagnosticReport",
                "id": "dr1",
                "status": "final",
                "code": {"text": "panel"},
                "subject": {"reference": "Patient/1"},
                "effectiveDateTime": "2020-02-01T10:00:00Z",
                "result": [{"reference": "https://ehr.example/fhir/Observation/o-report"}],
            }
        ],
    )
    _ndjson(
        tmp_path / "zz_visits.ndjson",
        [
            {
                "resourceType": "Encounter",
                "id": "e1",
                "status": "finished",
                "class": {"code": "AMB"},
                "subject": {"reference": "Patient/1"},
                "period": {"start": "2020-03-01T09:00:00Z"},
            }
        ],
    )
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = load(tmp_path, wh)
        got = dict(
            wh.con.execute(
                "SELECT s.source_key, m.measurement_date::VARCHAR FROM measurement m "
                "JOIN mm_source_record s ON s.table_name = 'measurement' "
                "AND s.row_id = m.measurement_id"
            ).fetchall()
        )
        q = wh.con.execute("SELECT location, reason_code, message FROM mm_quarantine").fetchall()
    assert r.reconciles and r.counts["Observation"].read == 5
    assert got == {
        "Observation/o-report": "2020-02-01",
        "Observation/o-enc": "2020-03-01",
        "Observation/o-issued": "2020-04-01",
        "Observation/o-own": "2019-01-01",
    }
    ((loc, reason, message),) = q
    assert (loc, reason) == ("line 4", "missing_field") and "NDJSON" in message


def test_undated_observation_finds_a_report_loaded_earlier(tmp_path):
    _ndjson(tmp_path / "Patient.ndjson", [PATIENT])
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr1",
        "status": "final",
        "code": {"text": "panel"},
        "subject": {"reference": "Patient/1"},
        "issued": "2020-02-03T10:00:00Z",
        "result": [{"reference": "Observation/o1"}],
    }
    first = _ndjson(tmp_path / "DiagnosticReport.ndjson", [report])
    (tmp_path / "later").mkdir()
    second = _ndjson(tmp_path / "later" / "Observation.ndjson", [_undated("o1")])
    with Warehouse(tmp_path / "w.duckdb") as wh:
        load([tmp_path / "Patient.ndjson", first], wh)
        r = load(second, wh)
        d = wh.con.execute("SELECT measurement_date::VARCHAR FROM measurement").fetchall()
    assert r.reconciles and r.counts["Observation"].loaded == 1
    assert d == [("2020-02-03",)]
