"""`medmine view run`: a ViewDefinition over FHIR files or the warehouse's raw store."""

from __future__ import annotations

import json

import orjson
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.ingest.fhir import load
from medmine.warehouse import Warehouse
from tests.conftest import TEST_DATA

BULK = TEST_DATA / "fhir" / "bulk"
VIEW = {
    "resourceType": "ViewDefinition",
    "resource": "Patient",
    "status": "active",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()"},
                {"name": "gender", "path": "gender"},
                {"name": "birth", "path": "birthDate", "type": "date"},
                {"name": "family", "path": "name.first().family"},
            ]
        }
    ],
}


def _run(*args):
    return CliRunner().invoke(app, ["view", "run", *map(str, args)])


@pytest.fixture
def view(tmp_path):
    p = tmp_path / "patient.json"
    p.write_text(json.dumps(VIEW))
    return p


def test_runs_a_view_over_ndjson_files_to_csv(tmp_path, view):
    out = tmp_path / "out" / "patients.csv"
    res = _run(view, BULK, "--out", out)
    assert res.exit_code == 0, res.output
    lines = out.read_text().splitlines()
    assert lines[0] == "id,gender,birth,family"
    assert sorted(lines[1:]) == [
        "p1,female,1961-04-02,Testperson",
        "p2,male,1990,",
    ]  # a partial date stays as written
    assert "2 rows (4 columns) from 2 Patient resources" in res.output


def test_runs_a_view_over_the_warehouse_raw_store_to_parquet(tmp_path, view):
    wh_path = tmp_path / "w.duckdb"
    with Warehouse(wh_path) as wh:
        load(BULK, wh)
    out = tmp_path / "p.parquet"
    res = _run(view, "--warehouse", wh_path, "--out", out)
    assert res.exit_code == 0, res.output
    t = pq.read_table(out)
    assert t.column_names == ["id", "gender", "birth", "family"]
    assert sorted(t.column("id").to_pylist()) == ["p1", "p2"]
    assert dict(zip(t.column("id").to_pylist(), t.column("birth").to_pylist(), strict=True)) == {
        "p1": "1961-04-02",
        "p2": "1990",
    }


def test_ndjson_output_and_the_format_option(tmp_path, view):
    out = tmp_path / "p.txt"
    res = _run(view, BULK / "Patient.ndjson", "--out", out, "--format", "ndjson")
    assert res.exit_code == 0, res.output
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert {r["id"]: r["gender"] for r in rows} == {"p1": "female", "p2": "male"}


def test_bad_and_empty_inputs_are_named_and_exit_3_after_writing_the_rest(tmp_path, view):
    bad = tmp_path / "Patient.ndjson"
    bad.write_bytes(b'{"resourceType":"Patient","id":"z"}\n{oops\n')
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    out = tmp_path / "p.csv"
    res = _run(view, bad, empty, "--out", out)
    assert res.exit_code == 3, res.output
    assert "line 2: line is not valid JSON" in res.output
    assert "empty.ndjson: no FHIR resource in it" in res.output
    assert out.read_text().splitlines()[1:] == ["z,,,"]


def test_a_missing_input_exits_3(tmp_path, view):
    res = _run(view, tmp_path / "nope.ndjson", "--out", tmp_path / "p.csv")
    assert res.exit_code == 3 and "does not exist" in res.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1]", "a ViewDefinition is a JSON object"),
        ('{"resource": "Patient"}', "select"),
        (json.dumps({**VIEW, "select": [{"column": [{"name": "x", "path": "name.("}]}]}), "x"),
    ],
)
def test_invalid_views_are_refused_with_the_reason(tmp_path, text, message):
    v = tmp_path / "v.json"
    v.write_text(text)
    res = _run(v, BULK, "--out", tmp_path / "p.csv")
    assert res.exit_code == 1, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "p.csv").exists()


def test_a_view_failing_on_the_data_leaves_no_output(tmp_path):
    several = {**VIEW, "select": [{"column": [{"name": "given", "path": "name.given"}]}]}
    v = tmp_path / "v.json"
    v.write_text(json.dumps(several))
    out = tmp_path / "p.csv"
    res = _run(v, BULK, "--out", out)
    assert res.exit_code == 1, res.output
    assert "several values" in res.output and "Ada" not in res.output
    assert list(tmp_path.glob("*p.csv*")) == []


def test_unknown_output_format_and_empty_or_missing_warehouse(tmp_path, view):
    res = _run(view, BULK, "--out", tmp_path / "p.xlsx")
    assert res.exit_code == 1 and "--format" in res.output
    res = _run(view, "--warehouse", tmp_path / "none.duckdb", "--out", tmp_path / "p.csv")
    assert res.exit_code == 1 and "does not exist" in res.output
    Warehouse(tmp_path / "empty.duckdb").close()
    res = _run(view, "--warehouse", tmp_path / "empty.duckdb", "--out", tmp_path / "p.csv")
    assert res.exit_code == 1 and "no raw FHIR resources" in res.output
