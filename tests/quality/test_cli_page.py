from __future__ import annotations

from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from medmine.cli import app
from medmine.pipeline import DemoContext
from medmine.quality.demo_step import quality_step

from .conftest import planted_warehouse


def test_cli_quality_and_profile_write_pages(tmp_path):
    db = tmp_path / "p.duckdb"
    planted_warehouse(db).close()
    runner = CliRunner()
    out = tmp_path / "q.html"
    types = ["--type", "start_before_end", "--type", "format_conformance"]
    res = runner.invoke(app, ["quality", "-w", str(db), "--out", str(out), *types])
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "50.00% &gt; 0% threshold" in page  # threshold shown beside the percentage (escaped)
    assert "Passed with failing rows" in page
    assert "start_before_end:visit_occurrence.visit_end_date" in page
    assert "#ex-visit_occurrence-2" in page and "id='ex-visit_occurrence-2'" in page
    # no identifying values on the page: planted source values and zips never appear
    assert "0213" not in page.replace("02139", "")
    res = runner.invoke(app, ["profile", "-w", str(db), "--out", str(tmp_path / "p.html")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["quality", "-w", str(db), "--type", "nope"])
    assert res.exit_code != 0


def test_demo_step_writes_pages_and_links(tmp_path, monkeypatch):
    import functools

    import medmine.quality

    subset = functools.partial(medmine.quality.run_checks, types=["start_before_end"])
    monkeypatch.setattr(medmine.quality, "run_checks", subset)
    db = tmp_path / "d.duckdb"
    planted_warehouse(db).close()
    ctx = DemoContext(
        warehouse=str(db), reports_dir=Path(tmp_path / "r"), console=Console(quiet=True)
    )
    quality_step(ctx)
    assert (tmp_path / "r" / "quality.html").exists()
    assert (tmp_path / "r" / "profile.html").exists()
    titles = [link.title for link in ctx.links]
    assert titles == ["Data quality", "Profile"]
    assert ctx.links[0].status == "warn"
