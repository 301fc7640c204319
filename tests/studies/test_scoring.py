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


# ---- manifest authentication, private files, audited scoring (issue 11, items 5 and 6) ----

MODEL_KEY = bytes(range(150, 182)).hex()


def _copy(src, dst):
    dst.write_bytes(src.read_bytes())
    manifest_path(dst).write_text(manifest_path(src).read_text())
    return dst


def _rehash(path, manifest):
    """What someone who swaps a model does: recompute the self-hashes of the manifest."""
    import hashlib

    manifest["model_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    manifest["manifest_sha256"] = hashlib.sha256(
        json.dumps(body, sort_keys=True, default=str).encode()
    ).hexdigest()
    manifest_path(path).write_text(json.dumps(manifest))


def test_swapped_model_with_recomputed_hashes_is_refused(trained, tmp_path):
    _, _, _, paths = trained
    swapped = tmp_path / "swapped.skops"
    swapped.write_bytes(paths["gbm"].read_bytes())  # another model behind l1's manifest
    manifest = json.loads(manifest_path(paths["l1"]).read_text())
    _rehash(swapped, manifest)
    # Before: both self-hashes matched, so the swapped model loaded.
    with pytest.raises(ModelIntegrityError, match="cannot authenticate"):
        load_model(swapped)


def test_unsigned_manifest_needs_trust_unsigned(trained, tmp_path):
    _, _, _, paths = trained
    old = _copy(paths["l1"], tmp_path / "old.skops")
    manifest = json.loads(manifest_path(old).read_text())
    del manifest["signature"]  # as an older medmine wrote it
    _rehash(old, manifest)
    with pytest.raises(ModelIntegrityError, match="no signature.*--trust-unsigned"):
        load_model(old)
    loaded = load_model(old, trust_unsigned=True)
    assert loaded.authenticated_by == "not authenticated (trust_unsigned)"


def test_model_of_another_run_is_not_authenticated(trained, tmp_path, monkeypatch):
    import medmine.studies.scoring as scoring

    monkeypatch.delenv("MEDMINE_MODEL_KEY", raising=False)
    _, _, _, paths = trained
    assert load_model(paths["l1"]).authenticated_by == "ephemeral key (this run)"
    monkeypatch.setattr(scoring, "_EPHEMERAL_KEY", bytes(range(32, 64)))  # a later process
    with pytest.raises(ModelIntegrityError, match="another run"):
        load_model(paths["l1"])
    assert load_model(paths["l1"], trust_unsigned=True).model is not None


def test_deployment_key_signs_and_verifies(trained, tmp_path, monkeypatch):
    _, cohort, mat, paths = trained
    monkeypatch.setenv("MEDMINE_MODEL_KEY", MODEL_KEY)
    model = load_model(paths["l1"], trust_unsigned=True).model
    path = save_model(tmp_path / "dep.skops", model, matrix=mat, definition=cohort.definition)
    manifest = json.loads(manifest_path(path).read_text())
    assert manifest["signature"]["kind"] == "deployment"
    assert load_model(path).authenticated_by == "deployment key"
    manifest["metrics"] = {"auroc": 0.99}  # edited, self-hashes recomputed
    _rehash(path, manifest)
    for trust in (False, True):  # a failing signature is never overridden
        with pytest.raises(ModelIntegrityError, match="signature does not verify"):
            load_model(path, trust_unsigned=trust)
    monkeypatch.delenv("MEDMINE_MODEL_KEY")
    with pytest.raises(ModelIntegrityError, match="MEDMINE_MODEL_KEY is not set"):
        load_model(path)


def test_weak_model_key_is_refused(trained, tmp_path, monkeypatch):
    from medmine.errors import ConfigError

    _, cohort, mat, paths = trained
    monkeypatch.setenv("MEDMINE_MODEL_KEY", "models")
    with pytest.raises(ConfigError, match="MEDMINE_MODEL_KEY is too weak"):
        save_model(tmp_path / "w.skops", object(), matrix=mat, definition=cohort.definition)


def test_saved_model_files_are_private(trained):
    import stat

    _, _, _, paths = trained
    for p in (paths["l1"], manifest_path(paths["l1"])):
        # Before: 0644, readable by every account on the machine.
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_scoring_is_audited(trained, monkeypatch):
    from medmine.privacy.audit import entries

    monkeypatch.delenv("MEDMINE_AUDIT_KEY", raising=False)
    w, cohort, _, paths = trained
    row = cohort.frame.iloc[1]
    n = len(entries(w.con))
    score_person(paths["l1"], w, int(row.person_id), row.index_date)
    es = entries(w.con)
    # Before: scoring one identified person left no trace.
    assert len(es) == n + 1 and es[-1].action == "score" and es[-1].object == "l1.skops"
    assert set(json.loads(es[-1].detail)) == {"model_sha256", "auth"}  # never the person


def test_scoring_a_read_only_warehouse_says_it_was_not_audited(trained, tmp_path):
    w, cohort, _, paths = trained
    path = tmp_path / "ro.duckdb"
    w.con.execute(f"ATTACH '{path}' AS ro_copy")
    w.con.execute("COPY FROM DATABASE sim TO ro_copy")
    w.con.execute("DETACH ro_copy")
    row = cohort.frame.iloc[1]
    with Warehouse(path, read_only=True) as ro:
        s = score_person(paths["l1"], ro, int(row.person_id), row.index_date)
    assert any(n.startswith("not audited") for n in s.notes)


def test_skops_is_pinned_past_known_vulnerabilities():
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    from packaging.requirements import Requirement
    from packaging.version import Version

    root = Path(__file__).resolve().parents[2]
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    skops = next(Requirement(d) for d in deps if d.startswith("skops"))
    # CVE-2025-54412/54413 (fixed 0.12), CVE-2025-54886 (0.13), LossNode import before audit
    # (fixed 0.14; medmine trusts sklearn loss types, which go through LossNode).
    for bad in ("0.11.0", "0.12.0", "0.13.0"):
        assert Version(bad) not in skops.specifier
    assert Version(version("skops")) in skops.specifier
