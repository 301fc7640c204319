"""`medmine spark rules` with a wrong lake path: one-line error, exit 1, nothing created."""

from __future__ import annotations

from typer.testing import CliRunner

from medmine.cli import app


def test_spark_rules_on_a_missing_lake_creates_nothing(tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["spark", "rules", str(tmp_path / "nope"), "--out", str(out)])
    assert res.exit_code == 1
    assert "is not a folder" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()
