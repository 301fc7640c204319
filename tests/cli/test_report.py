"""`medmine report`: every page for a warehouse built by hand; studies that cannot run say why."""

from __future__ import annotations

import html

import pytest
from typer.testing import CliRunner

from medmine.cli import app

from ..conftest import TEST_DATA


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def one_line_error(res) -> str:
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, res.output
    return errors[0]


@pytest.fixture(scope="module")
def by_hand(tmp_path_factory):
    """A warehouse loaded the way the getting-started guide does it: `medmine ingest ...`."""
    w = tmp_path_factory.mktemp("by_hand") / "mine.duckdb"
    for fmt, path in (("fhir", TEST_DATA / "fhir"), ("claims", TEST_DATA / "claims")):
        res = invoke("ingest", fmt, str(path), "-w", str(w))
        assert res.exit_code == 0, res.output
    return w


def test_report_writes_every_page_and_lists_studies_that_could_not_run(by_hand, tmp_path):
    out = tmp_path / "reports"
    small = [f"{s}.n_boot=20" for s in ("disease_risk", "readmission", "length_of_stay")]
    small.append("surveillance.evaluate=false")  # the simulated-outbreak evaluation has tests
    res = invoke(
        "report", "-w", str(by_hand), "--out", str(out), *sum([["-o", o] for o in small], [])
    )
    assert res.exit_code == 0, res.output
    index = html.unescape((out / "index.html").read_text())
    for page in ("loads.html", "quality.html", "profile.html"):
        assert (out / page).exists() and f'href="{page}"' in index
    for name in ("claims_fraud", "comorbidity_rules", "readmission", "disease_risk"):
        assert (out / f"study_{name}.html").exists() and f"study_{name}.html" in index
    # five persons: phenotypes cannot run; it is listed with the reason, and has no page
    assert "not run: phenotypes needs at least" in index
    assert not (out / "study_phenotypes.html").exists()
    assert "8 of 10 studies ran, 2 could not" in index
    assert "not run: study 'pharmacogenomics' found no genotypes" in index
    assert "not run phenotypes" in " ".join(res.output.split())
    assert "2 loads" in index


def test_report_names_missing_tables_of_studies_asked_for(tmp_path):
    w = tmp_path / "omop.duckdb"
    assert invoke("ingest", "omop", str(TEST_DATA / "omop_csv"), "-w", str(w)).exit_code == 0
    out = tmp_path / "reports"
    res = invoke("report", "-w", str(w), "--out", str(out), "--study", "claims_fraud")
    assert res.exit_code == 0, res.output
    index = html.unescape((out / "index.html").read_text())
    assert "not run: study 'claims_fraud' cannot run on warehouse" in index
    assert "mm_claim_line is empty (load claims with `medmine ingest claims`" in index
    assert "0 of 1 studies ran" in index


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "n_boot=20"], "--option takes STUDY.key=value"),
        (["--study", "nope"], "unknown study 'nope'"),
        (["-o", "readmission.n_bot=2"], "unknown option(s) ['n_bot'] for study 'readmission'"),
        (["--study", "phenotypes", "-o", "readmission.n_boot=20"], "options given for"),
    ],
)
def test_bad_options_fail_in_one_line_before_any_page(by_hand, tmp_path, args, message):
    out = tmp_path / "reports"
    line = one_line_error(invoke("report", "-w", str(by_hand), "--out", str(out), *args))
    assert message in line
    assert not out.exists()


def test_report_refuses_a_missing_warehouse_and_an_out_file(tmp_path, by_hand):
    line = one_line_error(invoke("report", "-w", str(tmp_path / "typo.duckdb")))
    assert "does not exist" in line and not (tmp_path / "typo.duckdb").exists()
    f = tmp_path / "file.html"
    f.write_text("x")
    assert "is a file" in one_line_error(invoke("report", "-w", str(by_hand), "--out", str(f)))
