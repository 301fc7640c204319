from __future__ import annotations

from typer.testing import CliRunner

from medmine.cli import app

from .conftest import planted_warehouse


def test_cli_quality_and_profile_write_pages(tmp_path):
    db = tmp_path / "p.duckdb"
    planted_warehouse(db).close()
    runner = CliRunner()
    out = tmp_path / "pages"
    types = ["--type", "start_before_end", "--type", "format_conformance"]
    res = runner.invoke(app, ["quality", "-w", str(db), "--out", str(out), *types])
    assert res.exit_code == 0, res.output
    page = (out / "quality.html").read_text()
    assert "50.00% &gt; 0% threshold" in page  # threshold shown beside the percentage (escaped)
    assert "pass, with failing rows" in page
    assert "start_before_end:visit_occurrence.visit_end_date" in page
    assert "#ex-visit_occurrence-2" in page and "id='ex-visit_occurrence-2'" in page
    # no identifying values on the page: planted source values and zips never appear
    assert "0213" not in page.replace("02139", "")
    res = runner.invoke(app, ["profile", "-w", str(db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "profile.html").exists()
    res = runner.invoke(app, ["quality", "-w", str(db), "--type", "nope"])
    assert res.exit_code != 0
