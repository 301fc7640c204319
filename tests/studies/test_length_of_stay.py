import pytest

from medmine.studies import length_of_stay
from medmine.studies.prediction import StudyConfig
from medmine.synth.population import simulate
from medmine.warehouse import Warehouse


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    pop = simulate(6_000, seed=11)
    w = Warehouse(tmp_path_factory.mktemp("simlos") / "sim.duckdb")
    pop.write_to(w)
    yield length_of_stay.run(w, StudyConfig(shap_rows=50), data_source="simulated")
    w.close()


def test_models_beat_mean_and_median_baselines(result):
    m = result.metrics.set_index("model")
    for model in ("Poisson GLM", "LightGBM (log target)"):
        assert m.loc[model, "mae"] < m.loc["baseline: median", "mae"]
        assert m.loc[model, "rmse"] < m.loc["baseline: mean", "rmse"]
        assert m.loc[model, "r2"] > 0.02
    assert abs(m.loc["baseline: mean", "r2"]) < 0.02


def test_attrition_and_group_errors(result):
    assert result.attrition[0].description.startswith("consent for research")
    groups = result.tables["Mean absolute error by group (test set)"]
    assert {"sex", "age group"} <= set(groups["attribute"])
    assert result.model_card is not None
