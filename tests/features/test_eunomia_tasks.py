"""Ready tasks on the Eunomia sample: cohort sizes, outcome rates and covariates."""

from __future__ import annotations

import pytest

from medmine.features import (
    CovariateSettings,
    build_cohort,
    disease_risk,
    extract_covariates,
    length_of_stay,
    readmission,
)
from medmine.ingest import omop
from medmine.warehouse import Warehouse


@pytest.fixture(scope="module")
def eunomia(tmp_path_factory):
    w = Warehouse(tmp_path_factory.mktemp("feat") / "eunomia.duckdb")
    omop.load(omop.eunomia_path(), w)
    yield w
    w.close()


def test_disease_risk_new_users_and_outcome_rate(eunomia):
    c = build_cohort(eunomia, disease_risk())
    steps = {s.description: s for s in c.attrition}
    assert c.attrition[0].description == "consent for research: 0 excluded"
    # Every Eunomia person is a new user of celecoxib (1,844) or diclofenac (850).
    assert steps["entry events"].persons == 1844 + 850
    by_drug = c.frame.groupby("entry_concept_id").size()
    assert by_drug.sum() == len(c.frame) == 2578
    assert c.frame["person_id"].is_unique
    # 64 first exposures fall outside any observation period; the rest have >= 365 days.
    assert (
        steps["index in an observation period with >= 365 days prior observation"].persons == 2630
    )
    assert 0.15 < c.outcome_rate < 0.22
    cases = c.frame[c.frame.outcome == 1]
    assert (cases["outcome_date"] > cases["index_date"]).all()


@pytest.mark.parametrize(
    ("drug", "new_users", "with_washout", "rows", "cases"),
    [(1118084, 1844, 1800, 1767, 355), (1124300, 850, 830, 811, 124)],
)
def test_new_users_per_ingredient(eunomia, drug, new_users, with_washout, rows, cases):
    c = build_cohort(eunomia, disease_risk(365, drugs=(drug,)))
    persons = [s.persons for s in c.attrition]
    assert persons[1] == new_users  # entry events: every user of the ingredient
    assert persons[3] == with_washout  # index in observation with >= 365 days before it
    assert (len(c.frame), int(c.frame["outcome"].sum())) == (rows, cases)


def test_readmission_and_length_of_stay_build_on_eunomia(eunomia):
    r = build_cohort(eunomia, readmission())
    assert len(r.frame) == 829 and r.frame["row_id"].is_unique
    assert r.outcome_rate == 0  # Eunomia has no inpatient stay within 30 days of another
    los = build_cohort(eunomia, length_of_stay())
    assert (los.frame["target"] >= 0).all()


def test_covariates_on_eunomia_are_aligned_and_named(eunomia):
    c = build_cohort(eunomia, disease_risk())
    m = extract_covariates(eunomia, c, CovariateSettings())
    assert m.X.shape == (len(c.frame), len(m.columns))
    assert (m.row_ids == c.frame["row_id"].to_numpy()).all()
    assert "gender:8507 MALE" in m.columns
    assert any(x.startswith("condition:") and x.endswith("[-365,-1]") for x in m.columns)
    again = extract_covariates(eunomia, c, m.settings, reference=m.reference)
    assert again.columns == m.columns and (again.X != m.X).nnz == 0
