import json

import numpy as np
import pytest

from medmine.errors import PrivacyError
from medmine.features import CovariateSettings, build_cohort
from medmine.mining.classify import l1_logistic_search, lightgbm_search
from medmine.studies._matrix import build_matrix
from medmine.studies.readmission import EXTRAS, default_definition
from medmine.studies.scoring import (
    ModelIntegrityError,
    load_model,
    manifest_path,
    save_model,
    score_person,
)
from medmine.synth.population import simulate
from medmine.warehouse import Warehouse


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("scoring")
    w = Warehouse(d / "sim.duckdb")
    simulate(2_000, seed=3).write_to(w)
    cohort = build_cohort(w, default_definition())
    mat = build_matrix(w, cohort, CovariateSettings(), extras=EXTRAS)
    y = cohort.frame["outcome"].to_numpy()
    groups = cohort.frame["person_id"].to_numpy()
    paths = {}
    for name, model in {
        "l1": l1_logistic_search({"C": [0.1]}),
        "gbm": lightgbm_search({"num_leaves": [7], "n_estimators": [50]}),
    }.items():
        model.fit(mat.X, y, groups=groups)
        paths[name] = save_model(
            d / f"{name}.skops",
            model,
            matrix=mat,
            definition=cohort.definition,
            study="readmission",
            background_mean=np.asarray(mat.X.mean(axis=0)).ravel(),
            model_card_ref="study_readmission_model_card.json",
        )
    yield w, cohort, mat, paths
    w.close()


@pytest.mark.parametrize("name", ["l1", "gbm"])
def test_score_person_matches_batch_prediction_and_explains(trained, name):
    w, cohort, mat, paths = trained
    row = cohort.frame.iloc[0]
    s = score_person(paths[name], w, int(row.person_id), row.index_date)
    loaded = load_model(paths[name])
    expected = loaded.model.predict_proba(mat.X[0])[0, 1]
    assert s.risk == pytest.approx(expected, rel=1e-5)
    assert 0 < s.risk < 1
    assert len(s.explanation) == 10
    assert set(s.explanation["feature"]) <= set(mat.names)
    assert s.model_card_ref == "study_readmission_model_card.json"


def test_manifest_carries_reference_definition_and_hash(trained):
    _, cohort, mat, paths = trained
    manifest = json.loads(manifest_path(paths["l1"]).read_text())
    assert len(manifest["model_sha256"]) == 64
    assert manifest["feature_names"] == mat.names
    assert len(manifest["covariate_reference"]) == len(mat.reference)
    assert manifest["cohort_definition"]["name"] == cohort.definition.name
    assert manifest["extras"] == list(EXTRAS)


def test_tampered_model_file_is_refused(trained, tmp_path):
    _, _, _, paths = trained
    src = paths["l1"]
    bad = tmp_path / "bad.skops"
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    manifest_path(bad).write_text(manifest_path(src).read_text())
    with pytest.raises(ModelIntegrityError, match="SHA-256 of the model file does not match"):
        load_model(bad)


def test_tampered_manifest_is_refused(trained, tmp_path):
    _, _, _, paths = trained
    src = paths["gbm"]
    copy = tmp_path / "m.skops"
    copy.write_bytes(src.read_bytes())
    manifest = json.loads(manifest_path(src).read_text())
    manifest["feature_names"][0] = "something else"
    manifest_path(copy).write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="manifest was altered"):
        load_model(copy)


def test_missing_manifest_is_refused(trained, tmp_path):
    _, _, _, paths = trained
    lone = tmp_path / "lone.skops"
    lone.write_bytes(paths["l1"].read_bytes())
    with pytest.raises(ModelIntegrityError, match="unknown origin"):
        load_model(lone)


def _custom_function(x):
    return x


def test_types_outside_the_allow_list_are_refused_even_with_valid_hashes(trained, tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    _, cohort, mat, _ = trained
    path = save_model(
        tmp_path / "odd.skops",
        FunctionTransformer(_custom_function),  # a function of this module: not trusted
        matrix=mat,
        definition=cohort.definition,
    )
    with pytest.raises(ModelIntegrityError, match="outside the allow-list"):
        load_model(path)


def test_person_without_consent_is_not_scored_nor_in_cohorts(trained, tmp_path):
    from medmine.privacy.consent import load_csv

    w, cohort, _, paths = trained
    pid = int(cohort.frame.person_id.iloc[-1])
    csv = tmp_path / "consent.csv"
    csv.write_text(f"person_id,purpose,decision\n{pid},research,deny\n")
    load_csv(csv, w)
    with pytest.raises(PrivacyError, match="no consent"):
        score_person(paths["l1"], w, pid, cohort.frame.index_date.iloc[-1])
    again = build_cohort(w, default_definition())
    assert again.attrition[0].description == "consent for research: 1 excluded"
    assert pid not in set(again.frame.person_id)


def test_cli_score_refuses_tampered_model_with_one_line_error(trained, tmp_path):
    from typer.testing import CliRunner

    from medmine.cli import app

    _, _, _, paths = trained
    Warehouse(tmp_path / "other.duckdb").close()
    bad = tmp_path / "bad.skops"
    bad.write_bytes(paths["gbm"].read_bytes() + b"x")
    manifest_path(bad).write_text(manifest_path(paths["gbm"]).read_text())
    res = CliRunner().invoke(
        app, ["score", "--model", str(bad), "--person", "1", "-w", str(tmp_path / "other.duckdb")]
    )
    assert res.exit_code == 1
    assert "does not match" in res.output
