"""The population simulator: size, determinism, loading, and the documented truth."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from medmine.features import (
    ConceptSet,
    CovariateSettings,
    build_cohort,
    extract_covariates,
    length_of_stay,
    readmission,
)
from medmine.synth import READMISSION_COEFFICIENTS, simulate
from medmine.synth.population import PLANNED_PROCEDURES
from medmine.warehouse import Warehouse

FEATURES = [
    "age_per_10y",
    "male",
    "heart_failure",
    "copd",
    "diabetes",
    "ckd",
    "prior_admissions_365d",
    "long_stay",
    "low_hemoglobin",
]


@pytest.fixture(scope="module")
def pop():
    return simulate(30_000, seed=7)


@pytest.fixture(scope="module")
def sim_wh(pop):
    wh = Warehouse(":memory:")
    report = pop.write_to(wh)
    yield wh, report
    wh.close()


def test_requested_size_and_omop_tables():
    small = simulate(1_000, seed=0)
    assert small.person.num_rows == 1_000
    assert small.observation_period.num_rows == 1_000
    for name in ("visit_occurrence", "condition_occurrence", "drug_exposure", "measurement"):
        assert small.tables[name].num_rows > 1_000
    visits = small.visit_occurrence.to_pandas()
    assert set(visits["visit_concept_id"]) == {9201, 9202}
    assert (visits["visit_end_date"] >= visits["visit_start_date"]).all()


def test_same_seed_same_population_other_seed_differs():
    a, b, c = simulate(2_000, seed=3), simulate(2_000, seed=3), simulate(2_000, seed=4)
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name
    assert a.stays.equals(b.stays)
    assert not a.visit_occurrence.equals(c.visit_occurrence)


def test_write_to_loads_everything_once(pop, sim_wh):
    wh, report = sim_wh
    assert report.reconciles and report.totals.quarantined == 0
    assert wh.count("person") == 30_000
    assert wh.count("visit_occurrence") == pop.visit_occurrence.num_rows
    again = pop.write_to(wh)
    assert again.totals.loaded == 0 and again.totals.skipped == report.totals.loaded
    # Every concept the simulator uses has a concept row.
    missing = wh.con.execute(
        "SELECT count(*) FROM condition_occurrence c LEFT JOIN concept k "
        "ON k.concept_id = c.condition_concept_id WHERE k.concept_id IS NULL"
    ).fetchone()[0]
    assert missing == 0


def test_truth_coefficients_are_recovered_from_the_stays(pop):
    s = pop.stays[~pop.stays["died_in_hospital"]].copy()
    s["age_per_10y"] = (s["age"] - 65) / 10
    s["prior_admissions_365d"] = s["prior_admissions_365d"].clip(upper=5)
    X = s[FEATURES].to_numpy(dtype=float)
    fit = LogisticRegression(C=1e6, max_iter=2000).fit(X, s["readmit_drawn"])
    est = dict(zip(FEATURES, fit.coef_[0], strict=True))
    for name in FEATURES:
        truth = READMISSION_COEFFICIENTS[name]
        assert abs(est[name] - truth) < 0.25, (name, est[name], truth)
        if truth >= np.log(1.2):
            assert est[name] > 0, name
    assert 0.10 < s["readmitted_30d"].mean() < 0.20


def test_readmission_cohort_labels_equal_the_simulated_truth(pop, sim_wh):
    wh, _ = sim_wh
    planned = ConceptSet(
        tuple(p[0] for p in PLANNED_PROCEDURES), domain="procedure", include_descendants=False
    )
    c = build_cohort(wh, readmission(planned=planned))
    truth = pop.stays.set_index("stay_id").drop(columns="person_id")
    f = c.frame.join(truth, on="entry_event_id")
    assert len(f) > 0.9 * (~pop.stays["died_in_hospital"]).sum()
    assert (f["outcome"] == f["readmitted_30d"].astype(int)).all()
    assert 0.10 < c.outcome_rate < 0.20
    # Higher rates with the documented risk factors, seen through the covariates.
    m = extract_covariates(wh, c, CovariateSettings(domains=("condition",), windows=(None,)))
    y = c.frame["outcome"].to_numpy()
    for concept in (316139, 46271022, 255573):
        name = next(x for x in m.columns if x.startswith(f"condition:{concept} "))
        x = m.column(name) > 0
        assert y[x].mean() > y[~x].mean(), name
    los = build_cohort(wh, length_of_stay()).frame.join(truth, on="entry_event_id")
    assert (los["target"] == los["los"]).all()
    assert 2 <= los["target"].median() <= 5
