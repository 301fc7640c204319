import json

import pytest

from medmine.evaluate import REQUIRED_SECTIONS
from medmine.report.study_pages import write_study
from medmine.studies import disease_risk, study_names
from medmine.studies.prediction import StudyConfig
from medmine.warehouse import Warehouse

FAST = StudyConfig(
    n_boot=50,
    l1_grid={"C": [0.1, 0.3]},
    lightgbm_grid={"num_leaves": [7], "n_estimators": [100]},
    shap_rows=50,
)


@pytest.fixture(scope="module")
def eunomia(tmp_path_factory):
    from medmine.ingest import omop

    w = Warehouse(tmp_path_factory.mktemp("eunomia") / "eunomia.duckdb")
    omop.load(omop.eunomia_path(), w)
    yield w
    w.close()


@pytest.fixture(scope="module")
def result(eunomia):
    return disease_risk.run(eunomia, FAST)


def test_gi_bleed_study_reports_auroc_with_ci_for_both_models(result):
    m = result.metrics.set_index("model")
    assert {"L1-logistic", "LightGBM"} <= set(m.index)
    for model in ("L1-logistic", "LightGBM"):
        row = m.loc[model]
        assert row.auroc_lower <= row.auroc <= row.auroc_upper
        assert row.auroc_upper - row.auroc_lower < 0.2
        assert row.auroc > 0.55  # prior peptic ulcer and others carry real signal in Eunomia
        assert row.n_test > 500 and row.outcomes_test > 50


def test_cohort_attrition_shows_consent_and_new_users(result):
    steps = [s.description for s in result.attrition]
    assert steps[0].startswith("consent for research") and "excluded" in steps[0]
    assert any("prior GI hemorrhage" in s for s in steps)
    assert result.cohort_summary["rows"] == result.attrition[-1].rows


def test_page_and_model_card_have_required_sections(result, tmp_path):
    link = write_study(result, tmp_path)
    text = (tmp_path / link.href).read_text()
    doc = json.loads((tmp_path / "study_disease_risk.json").read_text())
    assert doc["figures"]["cohort"]["rows"] == result.cohort_summary["rows"]
    assert {m["model"] for m in doc["figures"]["metrics"]} >= {"L1-logistic", "LightGBM"}
    assert (tmp_path / "study_disease_risk" / "metrics.parquet").exists()
    for needle in ("Attrition", "ROC curve", "Calibration", "SHAP importance", "Fairness audit"):
        assert needle in text
    card = json.loads((tmp_path / "study_disease_risk_model_card.json").read_text())
    assert set(REQUIRED_SECTIONS) <= set(card)
    assert card["performance"]["metrics"][0]["auroc_lower"] is not None
    assert card["fairness"]["by_group"]
    assert card["cohort"]["attrition"]


def test_registry_dispatches_study_names():
    assert {"readmission", "disease_risk", "length_of_stay"} <= set(study_names())
