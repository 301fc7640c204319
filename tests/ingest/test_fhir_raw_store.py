"""The raw FHIR store: every resource a FHIR load reads is kept as JSON in mm_fhir_resource."""

from __future__ import annotations

import json

import duckdb
import orjson
import pytest

from medmine.errors import SourceError
from medmine.ingest.fhir import load, stage_files, stage_warehouse
from medmine.warehouse import Warehouse
from tests.conftest import TEST_DATA

BULK = TEST_DATA / "fhir" / "bulk"
PATIENT = {"resourceType": "Patient", "id": "p9", "gender": "male", "birthDate": "1950-01-02"}


def _rows(wh, where="", params=()):
    return wh.con.execute(
        "SELECT source_file, location, load_id, resource_type, resource_id, full_url, resource "
        f"FROM mm_fhir_resource {where} ORDER BY source_file, location",
        list(params),
    ).fetchall()


def test_every_ndjson_resource_is_kept_with_file_line_and_load_id():
    wh = Warehouse(":memory:")
    rep = load(BULK, wh)
    rows = _rows(wh)
    assert len(rows) == rep.totals.read == 20
    assert {r[2] for r in rows} == {rep.load_id}
    patients = _rows(wh, "WHERE resource_type = 'Patient'")
    lines = (BULK / "Patient.ndjson").read_bytes().splitlines()
    assert [(r[1], r[4]) for r in patients] == [("line 1", "p1"), ("line 2", "p2")]
    assert patients[0][0].endswith("Patient.ndjson")
    assert orjson.loads(patients[0][6]) == orjson.loads(lines[0])
    # the gzip file's resources too, and the unmapped Provenance (skipped, still kept)
    assert _rows(wh, "WHERE resource_type = 'Observation'")[0][0].endswith(".ndjson.gz")
    assert len(_rows(wh, "WHERE resource_type = 'Provenance'")) == 1


def test_bundle_entries_keep_entry_index_and_full_url(tmp_path):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "DELETE", "url": "Patient/x"}},
            {
                "fullUrl": "urn:uuid:0b1c",
                "resource": {k: v for k, v in PATIENT.items() if k != "id"},
            },
        ],
    }
    f = tmp_path / "b.json"
    f.write_text(json.dumps(bundle, indent=2))
    wh = Warehouse(":memory:")
    load(f, wh)
    ((src, loc, _, rtype, rid, url, text),) = _rows(wh)
    assert (src, loc, rtype, rid, url) == (
        str(f),
        "entry[1] Patient/0b1c",
        "Patient",
        "0b1c",
        "urn:uuid:0b1c",
    )
    assert orjson.loads(text)["birthDate"] == "1950-01-02"


def test_reloading_adds_nothing_and_a_changed_resource_is_a_new_version(tmp_path):
    f = tmp_path / "Patient.ndjson"
    f.write_bytes(orjson.dumps(PATIENT) + b"\n")
    wh = Warehouse(tmp_path / "w.duckdb")
    first = load(f, wh)
    load(f, wh)
    assert len(_rows(wh)) == 1
    f.write_bytes(orjson.dumps({**PATIENT, "gender": "female"}) + b"\n")
    second = load(f, wh)
    rows = _rows(wh)
    assert len(rows) == 2 and {r[2] for r in rows} == {first.load_id, second.load_id}
    wh.close()


def test_quarantined_resources_are_kept_and_lines_that_are_not_json_are_not(tmp_path):
    f = tmp_path / "mixed.ndjson"
    bad = {
        **PATIENT,
        "id": "p8",
        "modifierExtension": [{"url": "http://x.org/m", "valueBoolean": True}],
    }
    f.write_bytes(
        b"\xef\xbb\xbf" + orjson.dumps(PATIENT) + b"\n{not json\n" + orjson.dumps(bad) + b"\n"
    )
    wh = Warehouse(":memory:")
    rep = load(f, wh)
    assert rep.totals.quarantined == 2
    rows = _rows(wh)
    assert [(r[1], r[4]) for r in rows] == [("line 1", "p9"), ("line 3", "p8")]
    assert orjson.loads(rows[0][6]) == PATIENT  # the byte-order mark is not kept


def test_keep_raw_false_stores_nothing():
    wh = Warehouse(":memory:")
    load(BULK, wh, keep_raw=False)
    assert wh.count("mm_fhir_resource") == 0 and wh.count("person") == 2


def test_a_rolled_back_load_leaves_no_raw_resource(tmp_path, monkeypatch):
    from medmine.ingest.fhir import _load

    def boom(session):
        raise KeyboardInterrupt

    monkeypatch.setattr(_load, "finish_load", boom)
    wh = Warehouse(":memory:")
    with pytest.raises(Exception, match="interrupted"):
        load(BULK, wh)
    assert wh.count("mm_fhir_resource") == 0


# ---- staging for ViewDefinitions ----
def test_stage_files_reads_bundles_and_ndjson_and_names_problems(tmp_path):
    good = tmp_path / "Patient.ndjson"
    good.write_bytes(orjson.dumps(PATIENT) + b"\n[1, 2]\n{bad\n")
    (tmp_path / "empty.ndjson").write_bytes(b"")
    (tmp_path / "pdf.json").write_bytes(b"%PDF-1.4 \x00")
    con = duckdb.connect()
    rep = stage_files([tmp_path, BULK / "Condition.ndjson"], con)
    assert rep.files == 4 and rep.resources == 2
    got = {
        (p.source_file.rsplit("/", 1)[-1], p.location, p.reason, p.file_level) for p in rep.problems
    }
    assert got == {
        ("Patient.ndjson", "line 2", "not a FHIR resource", False),
        ("Patient.ndjson", "line 3", "line is not valid JSON", False),
        ("empty.ndjson", "file", "no FHIR resource in it", True),
        ("pdf.json", "file", "not valid JSON", True),
    }
    types = con.execute("SELECT resource->>'resourceType' FROM resources ORDER BY 1").fetchall()
    assert types == [("Condition",), ("Patient",)]


def test_stage_files_keeps_one_type_and_refuses_missing_paths(tmp_path):
    con = duckdb.connect()
    assert stage_files([BULK], con, resource_type="Patient").resources == 2
    with pytest.raises(SourceError, match="does not exist"):
        stage_files([tmp_path / "nope.ndjson"], con)


def test_stage_warehouse_shows_a_repeated_resource_once():
    wh = Warehouse(":memory:")
    load(BULK, wh)
    load(BULK / "Patient.ndjson", wh)  # same file: nothing new
    assert stage_warehouse(wh.con, resource_type="Patient") == 2
    assert stage_warehouse(wh.con) == 20
    assert stage_warehouse(wh.con, load_id="no-such-load") == 0
