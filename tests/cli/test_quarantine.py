"""`medmine warehouse quarantine`: browse and export what loads set aside."""

from __future__ import annotations

import csv
import json
import os

import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.ingest import fhir
from medmine.warehouse import Warehouse

SECRET = "Zyxwvut Qwertyson"  # a name inside a bad record: it must never be printed


@pytest.fixture
def loaded(tmp_path):
    lines = [
        json.dumps({"resourceType": "Patient", "id": "p1", "gender": "female"}),
        "{not json",
        json.dumps({"resourceType": "Patient", "name": [{"text": SECRET}]}),  # no id
        json.dumps({"resourceType": "Observation", "id": "o1", "status": "final"}),
    ]
    src = tmp_path / "Patient.ndjson"
    src.write_text("\n".join(lines) + "\n")
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        report = fhir.load([src], wh)
    assert report.totals.quarantined >= 2
    return db, report


def test_lists_records_by_reason_without_data_values(loaded):
    db, report = loaded
    res = CliRunner().invoke(app, ["warehouse", "quarantine", "-w", str(db)])
    assert res.exit_code == 0, res.output
    assert "Patient.ndjson" in res.output and "malformed" in res.output
    assert "missing_field" in res.output
    assert SECRET.split()[0] not in res.output


def test_filters_by_reason_and_refuses_unknown_filters(loaded):
    db, report = loaded
    runner = CliRunner()
    res = runner.invoke(app, ["warehouse", "quarantine", "-w", str(db), "--reason", "malformed"])
    assert res.exit_code == 0 and "missing_field" not in res.output
    res = runner.invoke(app, ["warehouse", "quarantine", "-w", str(db), "--reason", "nope"])
    assert res.exit_code == 1 and "reasons present" in res.output
    res = runner.invoke(app, ["warehouse", "quarantine", "-w", str(db), "--load", "L-x"])
    assert res.exit_code == 1 and "known loads" in res.output


def test_export_without_and_with_raw_records(loaded, tmp_path):
    db, report = loaded
    runner = CliRunner()
    out = tmp_path / "q.csv"
    res = runner.invoke(app, ["warehouse", "quarantine", "-w", str(db), "--export", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == report.totals.quarantined and "record" not in rows[0]
    assert SECRET not in out.read_text()
    raw = tmp_path / "raw.csv"
    res = runner.invoke(
        app,
        ["warehouse", "quarantine", "-w", str(db), "--export", str(raw), "--include-raw"],
    )
    assert res.exit_code == 0, res.output
    assert SECRET in raw.read_text()  # the raw record, on explicit request only
    assert os.stat(raw).st_mode & 0o077 == 0  # owner-only
    with Warehouse(db, read_only=True) as wh:
        action = wh.con.execute("SELECT action FROM mm_audit ORDER BY seq DESC LIMIT 1").fetchone()[
            0
        ]
    assert action == "quarantine.export"
    res = runner.invoke(app, ["warehouse", "quarantine", "-w", str(db), "--include-raw"])
    assert res.exit_code != 0 and "only applies with --export" in res.output
