"""The commands that expose what only the demo could do before: units, linkage, risk."""

from __future__ import annotations

import pyarrow as pa
from typer.testing import CliRunner

from medmine.cli import app
from medmine.synth.linkage import make_identities
from medmine.warehouse import Warehouse
from medmine.warehouse.schema import table

from ..privacy.conftest import build_identified, default_people
from ..quality.conftest import planted_warehouse


def test_quality_units_fills_the_norm_table_and_prints_statuses(tmp_path):
    db = tmp_path / "u.duckdb"
    planted_warehouse(db).close()
    res = CliRunner().invoke(app, ["quality", "units", "-w", str(db)])
    assert res.exit_code == 0, res.output
    assert "converted" in res.output and "5 of 10 measurements in canonical units" in res.output
    with Warehouse(db, read_only=True) as wh:
        assert wh.count("mm_measurement_norm") == 10


def test_deid_risk_reports_k_and_prosecutor_risk_without_values(tmp_path):
    people = default_people()
    db = build_identified(tmp_path / "w.duckdb", people)
    res = CliRunner().invoke(app, ["deid", "risk", "-w", str(db), "--target-k", "2"])
    assert res.exit_code == 0, res.output
    assert "k = " in res.output and "prosecutor risk max" in res.output
    assert "to reach k = 2" in res.output
    for p in people:
        assert p.family not in res.output and p.ssn not in res.output


def test_link_runs_on_identities_and_prints_counts_only(tmp_path):
    rows, truth = make_identities(300, seed=5)
    db = tmp_path / "link.duckdb"
    with Warehouse(db) as wh:
        spec = table("mm_person_identity")
        t = pa.Table.from_pylist(  # noqa: F841  (read by DuckDB)
            [{c: r.get(c) for c in spec.column_names} for r in rows], schema=spec.arrow_schema()
        )
        wh.con.execute("INSERT INTO mm_person_identity BY NAME SELECT * FROM t")
    res = CliRunner().invoke(app, ["link", "-w", str(db)])
    assert res.exit_code == 0, res.output
    assert f"{len(rows):,} identities" in res.output and "clusters" in res.output
    names = {r.get("family_name") for r in rows} - {None, ""}
    assert not any(n in res.output for n in names)
    with Warehouse(db, read_only=True) as wh:
        assert wh.count("mm_person_link") == len(rows)


def test_link_with_too_few_identities_says_so_in_one_line(tmp_path):
    db = build_identified(tmp_path / "w.duckdb", default_people())
    res = CliRunner().invoke(app, ["link", "-w", str(db)])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
