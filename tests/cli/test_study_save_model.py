"""`medmine study NAME --save-model DIR` saves the models that `medmine score --model` uses."""

from __future__ import annotations

import json
import secrets

import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.ingest import omop
from medmine.warehouse import Warehouse

#: Fast settings: one model, few bootstrap replicates and SHAP rows.
FAST = ["-o", "n_boot=20", "-o", "models=l1_logistic", "-o", "shap_rows=50"]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def eunomia(tmp_path_factory):
    w = tmp_path_factory.mktemp("eunomia") / "eunomia.duckdb"
    with Warehouse(w) as wh:
        omop.load(omop.eunomia_path(), wh)
    return w


def test_study_saves_the_model_and_score_uses_it(eunomia, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDMINE_MODEL_KEY", secrets.token_hex(32))  # signs saved models
    out, models = tmp_path / "reports", tmp_path / "models"
    res = invoke(
        "study", "disease_risk", "-w", str(eunomia), "--out", str(out), "--save-model",
        str(models), *FAST,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    saved = models / "disease_risk_l1_logistic.skops"
    assert saved.exists() and (models / "disease_risk_l1_logistic.skops.json").exists()
    text = " ".join(res.output.split())
    assert f"model (L1-logistic): {saved}" in text
    assert f"medmine score --model {saved} --person ID" in text
    doc = json.loads((out / "study_disease_risk.json").read_text())
    assert doc["figures"]["saved_models"] == {"L1-logistic": str(saved)}
    with Warehouse(eunomia, read_only=True) as wh:
        person = wh.con.execute("SELECT min(person_id) FROM person").fetchall()[0][0]
    scored = invoke("score", "--model", str(saved), "--person", str(person), "-w", str(eunomia))
    assert scored.exit_code == 0, scored.output
    assert f"person {person} at " in scored.output and "risk" in scored.output
    assert "top contributions" in scored.output


def test_save_model_is_refused_for_a_study_without_models(eunomia, tmp_path):
    res = invoke(
        "study", "phenotypes", "-w", str(eunomia), "--out", str(tmp_path),
        "--save-model", str(tmp_path / "m"),
    )  # fmt: skip
    assert res.exit_code == 1 and "Traceback" not in res.output
    line = " ".join(res.output.split())
    assert "--save-model: study 'phenotypes' fits no model to save" in line
    assert "disease_risk" in line and "readmission" in line
    assert not (tmp_path / "study_phenotypes.html").exists()  # refused before running


def test_save_model_into_a_file_is_refused(eunomia, tmp_path):
    f = tmp_path / "models"
    f.write_text("x")
    res = invoke("study", "disease_risk", "-w", str(eunomia), "--save-model", str(f), *FAST)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "is a file; give a folder for the saved models" in " ".join(res.output.split())


def test_a_study_too_small_to_fit_says_no_model_was_saved(tmp_path):
    w = tmp_path / "tiny.duckdb"
    from ..conftest import TEST_DATA

    assert invoke("ingest", "fhir", str(TEST_DATA / "fhir"), "-w", str(w)).exit_code == 0
    res = invoke(
        "study", "readmission", "-w", str(w), "--out", str(tmp_path / "r"),
        "--save-model", str(tmp_path / "m"), "-o", "n_boot=20",
    )  # fmt: skip
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "fitted no model" in " ".join(res.output.split())
    assert (tmp_path / "r" / "study_readmission.html").exists()  # the page is still written
