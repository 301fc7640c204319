"""A person loaded without a birth date (year unknown) never gets an age of 0 or a year of 0."""

from __future__ import annotations

import pandas as pd
import pytest

from medmine.evaluate.fairness import age_group
from medmine.features import build_cohort, extract_covariates, readmission
from medmine.warehouse import Warehouse

from .timeline import Timeline


@pytest.fixture
def tl():
    wh = Warehouse(":memory:")
    yield Timeline(wh)
    wh.close()


def test_cohort_leaves_out_a_person_without_year_of_birth_with_a_stated_count(tl):
    for pid, born in ((1, 1950), (2, None), (3, 1960)):
        tl.person(pid, born=born)
        tl.visit(pid, "2015-01-01", "2015-01-05")
    c = build_cohort(tl.wh, readmission())
    steps = [s.description for s in c.attrition]
    i = steps.index("year of birth known (age at index needs it)")
    assert (c.attrition[i - 1].persons, c.attrition[i].persons) == (3, 2)
    assert sorted(c.frame["person_id"]) == [1, 3]
    assert c.frame["age_at_index"].tolist() == [65, 55]
    # covariates of the cohort: the age column holds real ages only
    m = extract_covariates(tl.wh, c)
    age = m.column(next(n for n in m.columns if n.lower().startswith("age")))
    assert sorted(age.tolist()) == [55, 65]


def test_fairness_age_group_names_an_unknown_age():
    assert age_group(pd.Series([30, None, 80])).tolist() == ["18-44", "unknown", "75+"]
