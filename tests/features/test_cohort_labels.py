"""Label logic of the readmission task on hand-built timelines."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from medmine.features import ConceptSet, build_cohort, length_of_stay, readmission
from medmine.warehouse import Warehouse

from .timeline import Timeline

PCI = 4216130


@pytest.fixture
def tl():
    wh = Warehouse(":memory:")
    yield Timeline(wh)
    wh.close()


def _rows(tl: Timeline, definition=None) -> pd.DataFrame:
    return build_cohort(tl.wh, definition or readmission()).frame


def test_transfer_to_another_hospital_is_one_stay_not_a_readmission(tl):
    tl.person(1)
    first = tl.visit(1, "2015-01-01", "2015-01-05", site=1)
    tl.visit(1, "2015-01-05", "2015-01-09", site=2)  # same-day transfer
    tl.visit(1, "2015-01-10", "2015-01-12", site=3)  # next-day transfer
    f = _rows(tl)
    assert len(f) == 1
    row = f.iloc[0]
    assert row.entry_event_id == first
    assert row.index_date == pd.Timestamp("2015-01-12") and row.outcome == 0
    los = _rows(tl, length_of_stay())
    assert los["target"].tolist() == [11.0]
    assert los["outcome"].tolist() == [1]  # longer than 7 days
    assert los["index_date"].tolist() == [pd.Timestamp("2015-01-01")]  # predicted at admission


def test_same_day_readmission_at_the_same_hospital_counts(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-05", site=1)
    tl.visit(1, "2015-01-05", "2015-01-08", site=1)
    f = _rows(tl)
    assert f["outcome"].tolist() == [1, 0]
    assert f["outcome_date"].iloc[0] == pd.Timestamp("2015-01-05")


def test_overlapping_visits_merge_whatever_the_site(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-10", site=1)
    tl.visit(1, "2015-01-03", "2015-01-04", site=1)
    assert len(_rows(tl)) == 1


def test_in_hospital_death_is_excluded_and_counted(tl):
    tl.person(1)
    tl.person(2)
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.visit(2, "2015-01-01", "2015-01-05")
    tl.death(2, "2015-01-05")
    c = build_cohort(tl.wh, readmission())
    assert c.frame["person_id"].tolist() == [1]
    step = next(s for s in c.attrition if s.description == "in-hospital deaths excluded")
    assert (step.persons, step.rows) == (1, 1)


def test_death_after_discharge_keeps_the_stay_with_label_zero(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.death(1, "2015-01-20")
    f = _rows(tl)
    assert f["outcome"].tolist() == [0]
    assert f["tar_end"].iloc[0] == pd.Timestamp("2015-01-20")


def test_death_can_be_made_a_censoring_event_instead(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.death(1, "2015-01-20")
    d = readmission()
    strict = dataclasses.replace(
        d, time_at_risk=dataclasses.replace(d.time_at_risk, deaths_complete_follow_up=False)
    )
    assert _rows(tl, strict).empty


def test_readmission_after_death_date_is_impossible_to_count(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.visit(1, "2015-01-15", "2015-01-16")  # recorded after death: data error, not an outcome
    tl.death(1, "2015-01-10")
    f = _rows(tl)
    assert f["outcome"].tolist() == [0]


def test_planned_readmission_is_not_an_outcome(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.visit(1, "2015-01-15", "2015-01-17")
    tl.procedure(1, PCI, "2015-01-15")
    planned = ConceptSet((PCI,), domain="procedure", include_descendants=False)
    assert _rows(tl)["outcome"].tolist() == [1, 0]
    assert _rows(tl, readmission(planned=planned))["outcome"].tolist() == [0, 0]


def test_unplanned_readmission_after_a_planned_one_still_counts(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.visit(1, "2015-01-10", "2015-01-11")
    tl.procedure(1, PCI, "2015-01-10")
    tl.visit(1, "2015-01-20", "2015-01-22")
    planned = ConceptSet((PCI,), domain="procedure", include_descendants=False)
    f = _rows(tl, readmission(planned=planned))
    assert f["outcome"].tolist()[0] == 1
    assert f["outcome_date"].iloc[0] == pd.Timestamp("2015-01-20")


@pytest.mark.parametrize(
    ("readmitted", "expected"),
    [("2015-02-04", 1), ("2015-02-05", 0)],  # discharge 2015-01-05: day 30 vs day 31
)
def test_outcome_window_ends_on_day_30(tl, readmitted, expected):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.visit(1, readmitted, readmitted)
    assert _rows(tl)["outcome"].iloc[0] == expected


@pytest.mark.parametrize(
    ("obs_end", "readmit", "kept", "outcome"),
    [
        ("2015-01-15", None, False, None),  # 10 days of follow-up: censored, dropped
        ("2015-02-04", None, True, 0),  # exactly 30 days
        ("2015-01-15", "2015-01-10", True, 1),  # short follow-up but readmitted: kept
        ("2015-01-08", "2015-01-10", False, None),  # readmission after observation end
    ],
)
def test_censoring_by_observation_end(tl, obs_end, readmit, kept, outcome):
    tl.person(1, obs=("2010-01-01", obs_end))
    tl.visit(1, "2015-01-01", "2015-01-05")
    if readmit:
        tl.visit(1, readmit, readmit)
    f = _rows(tl)
    f = f[f.index_date == pd.Timestamp("2015-01-05")]
    assert (len(f) == 1) == kept
    if kept:
        assert f["outcome"].iloc[0] == outcome


def test_age_limit_and_consent_are_attrition_steps(tl):
    tl.person(1)
    tl.person(2, born=2005)  # a minor at discharge
    tl.person(3)
    for p in (1, 2, 3):
        tl.visit(p, "2015-01-01", "2015-01-05")
    tl.wh.con.execute(
        "INSERT INTO mm_consent (person_id, purpose, decision) VALUES (3, 'research', 'deny')"
    )
    c = build_cohort(tl.wh, readmission())
    assert c.attrition[0].description == "consent for research: 1 excluded"
    assert c.frame["person_id"].tolist() == [1]
    assert any(s.description.startswith("age at index in [18") for s in c.attrition)
