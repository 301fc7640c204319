"""The exit-code policy of `medmine ingest`: 0 when every input was read, 3 when an input
could not be read, does not exist or gave nothing (named, with what was expected), 1 for
usage errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from medmine.cli import app

DATA = Path(__file__).resolve().parents[1] / "data"
PDF = b"%PDF-1.4\n\x00\x01\x02 binary content"


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content)
    return p


@pytest.mark.parametrize(
    ("reader", "name", "content", "expected"),
    [
        ("fhir", "report.pdf", PDF, "FHIR R4 JSON"),
        ("fhir", "empty.json", b"", "FHIR R4 JSON"),
        ("hl7v2", "scan.hl7", PDF, "HL7 v2 messages"),
        ("claims", "export.csv", b"a,b,c\n1,2,3\n", "docs/claims-format.md"),
        ("omop", "db.duckdb", PDF, "not a DuckDB database"),
        ("omop", "person.csv", b"person_id\n1\n", "folder that holds <table>.csv"),
    ],
)
def test_unreadable_inputs_exit_3_naming_the_file(tmp_path, reader, name, content, expected):
    src = _write(tmp_path, name, content)
    res = CliRunner().invoke(app, ["ingest", reader, str(src), "-w", str(tmp_path / "w.duckdb")])
    assert res.exit_code == 3, res.output
    assert name in res.output and expected in res.output
    assert "Traceback" not in res.output


def test_a_good_file_beside_a_bad_one_still_loads_and_the_bad_one_is_named(tmp_path):
    bad = _write(tmp_path, "broken.json", b"{not json")
    good = DATA / "fhir" / "conditional_bundle.json"
    res = CliRunner().invoke(
        app, ["ingest", "fhir", str(good), str(bad), "-w", str(tmp_path / "w.duckdb")]
    )
    assert res.exit_code == 3, res.output
    assert "not loaded: broken.json" in res.output
    assert "conditional_bundle" not in res.output.split("not loaded:")[1]


def test_quarantined_records_in_a_readable_file_are_normal(tmp_path):
    res = CliRunner().invoke(
        app,
        ["ingest", "fhir", str(DATA / "fhir" / "conditional_bundle.json"), "-w",
         str(tmp_path / "w.duckdb")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    # a second run skips everything as already loaded: still a success
    res = CliRunner().invoke(
        app,
        ["ingest", "fhir", str(DATA / "fhir" / "conditional_bundle.json"), "-w",
         str(tmp_path / "w.duckdb")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("reader", ["fhir", "hl7v2", "claims", "notes", "synthea-csv", "omop"])
def test_missing_inputs_exit_3_and_create_no_warehouse(tmp_path, reader):
    w = tmp_path / "w.duckdb"
    res = CliRunner().invoke(app, ["ingest", reader, str(tmp_path / "nope"), "-w", str(w)])
    assert res.exit_code == 3, res.output
    assert "does not exist" in res.output and "Traceback" not in res.output
    assert not w.exists()
