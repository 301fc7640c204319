import json

import numpy as np
import pytest

from medmine.studies import readmission
from medmine.studies.lace import lace_points
from medmine.studies.prediction import StudyConfig
from medmine.synth.population import simulate
from medmine.warehouse import Warehouse

FAST = StudyConfig(
    n_boot=30,
    l1_grid={"C": [0.1]},
    lightgbm_grid={"num_leaves": [7], "n_estimators": [150]},
    shap_rows=50,
    test_size=0.3,
)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    pop = simulate(12_000, seed=7)
    w = Warehouse(tmp_path_factory.mktemp("sim") / "sim.duckdb")
    pop.write_to(w)
    truth = pop.stays.rename(columns={"discharge_date": "index_date", "p_readmit": "p_true"})
    yield w, truth
    w.close()


@pytest.fixture(scope="module")
def result(sim):
    w, truth = sim
    return readmission.run(w, FAST, truth=truth, data_source="simulated")


def test_models_recover_the_simulated_signal(result):
    """Floor from the simulator's true model: its risk is the best any model can do.

    True readmission risk in the simulator gives AUROC ≈ 0.63 (modest odds ratios, as in
    published readmission models); a learner that recovers the signal reaches at least 90 % of
    that on the same test persons and stays clearly above chance.
    """
    m = result.metrics.set_index("model")
    ceiling = m.loc["true risk (simulator)", "auroc"]
    assert ceiling > 0.58
    for model in ("L1-logistic", "LightGBM"):
        assert m.loc[model, "auroc"] >= 0.9 * ceiling
        assert m.loc[model, "auroc_lower"] > 0.5
        assert 0.6 < m.loc[model, "calibration_slope"] < 1.5


def test_lace_is_compared_on_the_same_test_set(result):
    m = result.metrics.set_index("model")
    assert m.loc["LACE", "n_test"] == m.loc["LightGBM", "n_test"]
    assert 0.5 < m.loc["LACE", "auroc"] < m.loc["true risk (simulator)", "auroc"] + 0.02
    assert not np.isnan(m.loc["LACE (recalibrated)", "brier"])
    assert result.tables["LACE components (test set means)"]["mean"].notna().all()


def test_too_small_cohort_is_reported_not_fitted(sim):
    w, _ = sim
    small = readmission.run(w, StudyConfig(min_rows=10**7))
    assert small.status == "warn" and small.metrics.empty and not small.models
    assert "too small" in small.notes[0]


@pytest.mark.parametrize(
    ("los", "emergent", "charlson", "ed", "expected"),
    [
        (0, False, 0, 0, 0),
        (3, True, 2, 1, 3 + 3 + 2 + 1),
        (5, False, 4, 9, 4 + 0 + 5 + 4),
        (14, True, 7, 0, 7 + 3 + 5 + 0),
        (10, False, 3, 2, 5 + 0 + 3 + 2),
    ],
)
def test_lace_points_follow_van_walraven(los, emergent, charlson, ed, expected):
    assert lace_points([los], [emergent], [charlson], [ed])[0] == expected


def test_temporal_validation_split_of_the_study(sim):
    from medmine.features import build_cohort
    from medmine.studies._binary import make_split

    w, _ = sim
    frame = build_cohort(w, readmission.default_definition()).frame
    y = frame["outcome"].to_numpy()
    split = make_split(frame, y, StudyConfig(temporal_cutoff="2019-06-01"))
    dates = frame["index_date"].to_numpy()
    assert dates[split.train].max() < np.datetime64("2019-06-01")
    assert dates[split.test].min() >= np.datetime64("2019-06-01")
    assert frame["tar_end"].to_numpy()[split.train].max() < np.datetime64("2019-06-01")
    persons = frame["person_id"].to_numpy()
    assert set(persons[split.train]).isdisjoint(persons[split.test])
    assert "temporal" in split.method


def test_cli_study_reports_too_small_cohort_and_writes_outputs(tmp_path):
    from typer.testing import CliRunner

    from medmine.cli import app

    w = tmp_path / "small.duckdb"
    with Warehouse(w) as wh:
        simulate(60, seed=1).write_to(wh)
    out = tmp_path / "reports"
    res = CliRunner().invoke(app, ["study", "readmission", "-w", str(w), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "not fitted" in res.output and "too small" in res.output
    assert (out / "study_readmission.html").exists()
    doc = json.loads((out / "study_readmission.json").read_text())
    assert doc["status"] == "warn" and doc["figures"]["metrics"] == []
    with Warehouse(w, read_only=True) as wh:
        row = wh.con.execute(
            "SELECT action, object FROM mm_audit ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    assert row == ("study", "readmission")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["study", "readmission", "-w", "{missing}"], "does not exist"),
        (["study", "readmission", "-w", "{empty}"], "visit_occurrence is empty"),
        (["study", "readmission", "-w", "{empty}", "-o", "n_bot=3"], "unknown option"),
        (["study", "readmission", "-w", "{empty}", "-o", "n_boot=three"], "must be"),
        (["study", "readmision", "-w", "{empty}"], "unknown study"),
    ],
)
def test_cli_study_mistakes_fail_in_one_line(tmp_path, args, message):
    from typer.testing import CliRunner

    from medmine.cli import app

    Warehouse(tmp_path / "empty.duckdb").close()
    paths = {"missing": str(tmp_path / "typo.duckdb"), "empty": str(tmp_path / "empty.duckdb")}
    res = CliRunner().invoke(app, [a.format(**paths) for a in args])
    assert res.exit_code == 1, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "typo.duckdb").exists()
