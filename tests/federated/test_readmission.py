"""The readmission task federated, on a small simulated population (the study's definition
and covariates plus the index stay length, as the readmission study builds them)."""

import numpy as np
import pandas as pd
import pytest

from medmine.federated import FederatedConfig, study_data
from medmine.federated.experiment import STAY_LENGTH
from medmine.federated.simulation import simulate
from medmine.studies.readmission import default_definition
from medmine.synth.population import simulate as simulate_population
from medmine.warehouse import Warehouse


@pytest.fixture(scope="module")
def sim_data(tmp_path_factory):
    w = Warehouse(tmp_path_factory.mktemp("fed_sim") / "sim.duckdb")
    simulate_population(3000, seed=3).write_to(w)
    yield w, study_data(w, default_definition(), stay_length=True)
    w.close()


def test_stay_length_column_is_discharge_minus_admission(sim_data):
    _, data = sim_data
    f = data.frame
    want = (pd.to_datetime(f["entry_end_date"]) - pd.to_datetime(f["entry_start_date"])).dt.days
    got = np.asarray(data.X[:, data.names.index(STAY_LENGTH)].todense()).ravel()
    assert data.names[-1] == STAY_LENGTH and np.array_equal(got, want.to_numpy(dtype=float))


def test_label_skew_sites_federated_readmission_sends_only_parameters(sim_data):
    wh, data = sim_data
    cfg = FederatedConfig(rounds=10, n_boot=20, boosting=False)
    sim = simulate(wh, data, n_sites=3, split="label_skew", alpha=0.3, config=cfg)
    comp = sim.comparison
    assert comp.sites["outcome rate"].max() - comp.sites["outcome rate"].min() > 0.05
    # persons with several stays stay in one site
    assert comp.sites["persons"].sum() == data.frame["person_id"].nunique()
    t = comp.table.set_index("model")["auroc"]
    assert abs(t["Federated FedAvg"] - t["Pooled (ceiling)"]) < 0.05
    assert sim.findings == []
