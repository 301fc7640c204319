from __future__ import annotations

import json

from typer.testing import CliRunner

from medmine.cli import app

from .conftest import planted_warehouse


def test_cli_quality_and_profile_write_pages(tmp_path):
    db = tmp_path / "p.duckdb"
    planted_warehouse(db).close()
    runner = CliRunner()
    out = tmp_path / "pages"
    types = [
        "--type",
        "start_before_end",
        "--type",
        "format_conformance",
        "--type",
        "duplicate_rows",
    ]
    res = runner.invoke(app, ["quality", "-w", str(db), "--out", str(out), *types])
    assert res.exit_code == 0, res.output
    assert "first quality run on this warehouse" in res.output
    page = (out / "quality.html").read_text()
    assert "50.00%; impossible data: any row fails" in page  # severity error, one row enough
    assert "5.88% &gt; 5% threshold" in page  # a rate check: threshold beside the percentage
    assert "start_before_end:visit_occurrence.visit_end_date" in page
    assert "#ex-visit_occurrence-2" in page and "id='ex-visit_occurrence-2'" in page
    # no identifying values on the page: planted source values and zips never appear
    assert "0213" not in page.replace("02139", "")
    res = runner.invoke(app, ["profile", "-w", str(db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "profile.html").exists()
    res = runner.invoke(app, ["quality", "-w", str(db), "--type", "nope"])
    assert res.exit_code != 0


def test_cli_config_overrides_thresholds_and_the_rerun_is_compared(tmp_path):
    db = tmp_path / "p.duckdb"
    planted_warehouse(db).close()
    runner = CliRunner()
    out = tmp_path / "pages"
    types = ["--type", "duplicate_rows", "--type", "start_before_end"]
    assert runner.invoke(app, ["quality", "-w", str(db), "--out", str(out), *types]).exit_code == 0
    first = json.loads((out / "quality.json").read_text())
    dup = "duplicate_rows:condition_occurrence"
    assert {r["check_id"]: r["status"] for r in first["results"]}[dup] == "fail"
    assert first["comparison"] is None
    cfg = tmp_path / "q.toml"
    cfg.write_text('[thresholds]\nduplicate_rows = 10\n[severity]\n"start_before_end" = "rate"\n')
    res = runner.invoke(
        app, ["quality", "-w", str(db), "--out", str(out), "--config", str(cfg), *types]
    )
    assert res.exit_code == 0, res.output
    second = json.loads((out / "quality.json").read_text())
    by_id = {r["check_id"]: r for r in second["results"]}
    assert (by_id[dup]["status"], by_id[dup]["threshold_pct"]) == ("pass", 10.0)
    assert by_id["start_before_end:visit_occurrence.visit_end_date"]["severity"] == "rate"
    cmp = second["comparison"]
    assert cmp["previous_run_id"] == first["run_id"]
    assert dup in {c["check_id"] for c in cmp["fixed"]}
    assert "0 new failures" in res.output and "fixed" in res.output
    page = (out / "quality.html").read_text()
    assert "id='since-last-run'" in page and str(cfg) in page
    # the settings in force, listed and written
    res = runner.invoke(app, ["quality", "thresholds", "--config", str(cfg)])
    assert res.exit_code == 0 and "duplicate_rows" in res.output
    written = tmp_path / "all.toml"
    res = runner.invoke(
        app, ["quality", "thresholds", "--config", str(cfg), "--write", str(written)]
    )
    assert res.exit_code == 0
    assert "duplicate_rows = 10" in written.read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text("[thresholds]\nno_such_check = 3\n")
    res = runner.invoke(app, ["quality", "-w", str(db), "--out", str(out), "--config", str(bad)])
    assert res.exit_code != 0 and "no_such_check" in res.output
