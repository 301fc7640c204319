"""`medmine run` and `medmine init`: one command to a report, statuses, one-line errors."""

from __future__ import annotations

import secrets

import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.privacy.pseudonym import KEY_ENV

from ..run.conftest import copy_sources, pipeline_doc, write_pipeline


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    copy_sources(tmp_path)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def table(output: str) -> dict[str, str]:
    """Stage -> status from the status table printed at the end."""
    lines = output.splitlines()
    start = max(i for i, ln in enumerate(lines) if ln.strip() == "stages")
    rows = [ln.split("│") for ln in lines[start:] if ln.startswith("│")]
    return {r[1].strip(): r[2].strip() for r in rows if len(r) > 3}


def one_line_error(res) -> str:
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, res.output
    return errors[0]


def test_run_writes_the_report_and_a_second_run_skips_every_stage(project, monkeypatch):
    monkeypatch.setenv(KEY_ENV, secrets.token_hex(32))
    doc = pipeline_doc(deid={"reference_date": "2024-01-01"})  # key from the environment
    path = write_pipeline(project, doc)
    first = invoke("run", str(path))
    assert first.exit_code == 0, first.output
    assert "6 done, 0 skipped as unchanged, 0 failed, 0 not run" in first.output
    assert "report:" in first.output and (project / "reports" / "index.html").exists()
    second = invoke("run", str(path))
    assert second.exit_code == 0, second.output
    assert second.output.count("skipped (unchanged)") == 6
    assert "0 done, 6 skipped as unchanged" in second.output
    monkeypatch.setenv(KEY_ENV, secrets.token_hex(32))  # a new key: deid and after rerun
    rekeyed = table(invoke("run", str(path)).output)
    assert rekeyed["load"] == rekeyed["quality"] == "skipped (unchanged)"
    assert rekeyed["deid"] == rekeyed["study readmission"] == "done"


BAD = [
    ({"studies": {"readmission": {"n_bot": 20}}}, "unknown option(s) ['n_bot']"),
    ({"sources": [{"format": "fhir", "paths": ["missing/"]}]}, "missing does not exist"),
    ({"qualty": {}}, "unknown key(s) ['qualty']; known:"),
    ({"studies": {"no_such_study": None}}, "unknown study 'no_such_study'"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _, m in BAD])
def test_a_bad_pipeline_fails_before_anything_runs_in_one_line(project, change, message):
    path = write_pipeline(project, pipeline_doc(**change))
    res = invoke("run", str(path))
    line = one_line_error(res)
    assert message in line and str(path) in line
    assert "stages" not in res.output  # no stage started
    assert not (project / "work").exists() and not (project / "reports").exists()


def test_check_validates_without_running(project):
    path = write_pipeline(project, pipeline_doc())
    res = invoke("run", str(path), "--check")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "ok; 2 sources, quality on, deid on, studies: comorbidity_rules, readmission" in text
    assert not (project / "work").exists()


def test_a_failed_stage_exits_1_with_one_line_and_the_status_table(project):
    path = write_pipeline(project, pipeline_doc(deid=None, studies={"phenotypes": None}))
    res = invoke("run", str(path))
    line = one_line_error(res)
    assert line.startswith("error: stage study phenotypes failed: ")
    assert table(res.output) == {
        "load": "done",
        "quality": "done",
        "study phenotypes": "failed",
        "report": "not run",
    }
    assert "2 done, 0 skipped as unchanged, 1 failed, 1 not run" in res.output


def test_missing_pipeline_file_says_how_to_start(tmp_path):
    line = one_line_error(invoke("run", str(tmp_path / "pipeline.yaml")))
    assert "medmine init" in line


def test_init_writes_a_starter_and_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "pipeline.yaml"
    res = invoke("init", str(target))
    assert res.exit_code == 0, res.output
    text = target.read_text()
    assert text.startswith("# medmine pipeline") and "sources:" in text
    target.write_text("# mine\n")
    line = one_line_error(invoke("init", str(target)))
    assert "exists; pass --force" in line
    assert target.read_text() == "# mine\n"
    assert invoke("init", str(target), "--force").exit_code == 0
    assert target.read_text() == text
    assert invoke("init", str(tmp_path / "sub")).exit_code == 0  # a new file in a new folder
