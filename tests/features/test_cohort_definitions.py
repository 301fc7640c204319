"""Entry events, new users, washout, descendants, criteria and the YAML form of definitions."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlglot

from medmine.errors import ConfigError
from medmine.features import (
    CohortDefinition,
    ConceptSet,
    Criterion,
    EntryEvent,
    OutcomeDefinition,
    TimeAtRisk,
    build_cohort,
    disease_risk,
    length_of_stay,
    readmission,
)
from medmine.warehouse import Warehouse

from .timeline import Timeline

CELECOXIB, DICLOFENAC, GI_BLEED = 1118084, 1124300, 192671
CELECOXIB_200MG = 19000001  # a test-only descendant of the ingredient
BLEED_CHILD = 19000002


@pytest.fixture
def tl():
    wh = Warehouse(":memory:")
    yield Timeline(wh)
    wh.close()


def _new_users(washout: int = 365, first: bool = True) -> CohortDefinition:
    return CohortDefinition(
        name="t",
        entry=EntryEvent(
            concept_set=ConceptSet((CELECOXIB,), domain="drug"),
            first_occurrence=first,
            washout_days=washout,
        ),
        outcome=OutcomeDefinition(concept_set=ConceptSet((GI_BLEED,))),
        time_at_risk=TimeAtRisk(1, 365),
    )


def test_new_user_index_is_the_first_exposure_and_needs_the_washout(tl):
    tl.person(1, obs=("2009-06-01", "2020-12-31"))  # 214 days before the first exposure
    tl.person(2, obs=("2005-01-01", "2020-12-31"))
    for p in (1, 2):
        tl.drug(p, CELECOXIB, "2010-01-01")
        tl.drug(p, CELECOXIB, "2012-01-01")
    f = build_cohort(tl.wh, _new_users()).frame
    assert f["person_id"].tolist() == [2]  # person 1 is not a new user with 365 days washout
    assert f["index_date"].tolist() == [pd.Timestamp("2010-01-01")]
    assert build_cohort(tl.wh, _new_users(washout=0)).frame["person_id"].tolist() == [1, 2]
    # Without the new-user rule every exposure with enough prior observation is an entry.
    f = build_cohort(tl.wh, _new_users(first=False)).frame
    assert list(zip(f.person_id, f.index_date.dt.year, strict=True)) == [
        (1, 2012),
        (2, 2010),
        (2, 2012),
    ]


def test_descendants_come_from_concept_ancestor(tl):
    tl.person(1)
    tl.drug(1, CELECOXIB_200MG, "2010-01-01")
    assert build_cohort(tl.wh, _new_users()).frame.empty  # no hierarchy known yet
    tl.ancestor(CELECOXIB, CELECOXIB_200MG)
    f = build_cohort(tl.wh, _new_users()).frame
    assert f["entry_concept_id"].tolist() == [CELECOXIB_200MG]
    flat = ConceptSet((CELECOXIB,), domain="drug", include_descendants=False)
    d = CohortDefinition("t", EntryEvent(concept_set=flat), OutcomeDefinition(concept_set=flat))
    assert build_cohort(tl.wh, d).frame.empty


def test_disease_risk_excludes_prior_bleed_and_labels_days_1_to_365(tl):
    for p in range(1, 6):
        tl.person(p)
        tl.drug(p, DICLOFENAC, "2010-01-01")
    tl.ancestor(GI_BLEED, BLEED_CHILD)
    tl.condition(1, GI_BLEED, "2009-05-01")  # prior bleed: excluded
    tl.condition(2, BLEED_CHILD, "2010-01-01")  # on the index day: excluded, not an outcome
    tl.condition(3, BLEED_CHILD, "2010-01-02")  # day 1: outcome (descendant)
    tl.condition(4, GI_BLEED, "2011-01-01")  # day 365: outcome
    tl.condition(5, GI_BLEED, "2011-01-02")  # day 366: no outcome
    c = build_cohort(tl.wh, disease_risk())
    f = c.frame.set_index("person_id")
    assert f.index.tolist() == [3, 4, 5]
    assert f["outcome"].to_dict() == {3: 1, 4: 1, 5: 0}
    assert f.loc[3, "outcome_date"] == pd.Timestamp("2010-01-02")
    step = next(s for s in c.attrition if s.description.startswith("without prior GI"))
    assert step.persons == 3


def test_inclusion_with_min_count_and_window(tl):
    for p in (1, 2, 3):
        tl.person(p)
        tl.drug(p, CELECOXIB, "2010-06-01")
    tl.condition(1, 80180, "2010-05-01")
    tl.condition(1, 80180, "2010-05-15")
    tl.condition(2, 80180, "2010-05-01")
    tl.condition(3, 80180, "2008-05-01")
    tl.condition(3, 80180, "2008-06-01")
    oa = ConceptSet((80180,), name="osteoarthritis")
    d = _new_users()
    two = CohortDefinition(**{**d.__dict__, "inclusion": (Criterion(oa, -365, -1, min_count=2),)})
    assert build_cohort(tl.wh, two).frame["person_id"].tolist() == [1]
    ever = CohortDefinition(**{**d.__dict__, "inclusion": (Criterion(oa, None, -1),)})
    assert build_cohort(tl.wh, ever).frame["person_id"].tolist() == [1, 2, 3]


def test_min_time_at_risk_keeps_cases_drops_short_non_cases(tl):
    tl.person(1, obs=("2005-01-01", "2010-03-01"))
    tl.person(2, obs=("2005-01-01", "2010-03-01"))
    for p in (1, 2):
        tl.drug(p, CELECOXIB, "2010-01-01")
    tl.condition(1, GI_BLEED, "2010-02-01")
    f = build_cohort(tl.wh, disease_risk()).frame
    assert f["person_id"].tolist() == [1] and f["outcome"].tolist() == [1]


def test_sql_entry_and_sql_outcome(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-02", concept=9202)
    tl.visit(1, "2015-03-01", "2015-03-04")
    d = CohortDefinition(
        name="op_then_ip",
        entry=EntryEvent(
            sql="SELECT person_id, visit_occurrence_id AS event_id, visit_concept_id AS "
            "concept_id, visit_start_date AS event_date, visit_end_date AS event_end_date "
            "FROM visit_occurrence WHERE visit_concept_id = 9202"
        ),
        outcome=OutcomeDefinition(
            sql="SELECT person_id, visit_occurrence_id AS event_id, visit_start_date AS "
            "event_date FROM visit_occurrence WHERE visit_concept_id = 9201",
            name="inpatient visit start",
        ),
        time_at_risk=TimeAtRisk(1, 90),
    )
    f = build_cohort(tl.wh, d).frame
    assert f["outcome"].tolist() == [1]
    assert f["outcome_date"].tolist() == [pd.Timestamp("2015-03-01")]


@pytest.mark.parametrize("task", [disease_risk(), readmission(), length_of_stay()])
def test_definitions_round_trip_through_yaml(task, tmp_path):
    text = task.to_yaml()
    assert CohortDefinition.from_yaml(text) == task
    path = tmp_path / "task.yaml"
    path.write_text(text)
    assert CohortDefinition.from_yaml(path) == task
    assert CohortDefinition.from_yaml(str(path)) == task


def test_yaml_errors_name_the_problem():
    with pytest.raises(ConfigError, match="unknown field"):
        CohortDefinition.from_yaml("name: x\nentry: {concept_set: {concept_ids: [1]}, bogus: 1}")
    with pytest.raises(ConfigError, match="exactly one"):
        CohortDefinition.from_yaml("name: x\nentry: {}\noutcome: {sql: 'SELECT 1'}").validate()
    with pytest.raises(ConfigError, match="unknown event domain"):
        build_cohort(
            Warehouse(":memory:"),
            CohortDefinition(
                "x",
                EntryEvent(concept_set=ConceptSet((1,), domain="drugs")),
                OutcomeDefinition(concept_set=ConceptSet((2,))),
            ),
        )


@pytest.mark.parametrize("task", [disease_risk(), readmission(), length_of_stay()])
def test_every_cohort_step_transpiles_to_spark(tl, task):
    tl.person(1)
    c = build_cohort(tl.wh, task)
    assert len(c.sql) >= 4
    for _, sql in c.sql:
        out = sqlglot.transpile(
            sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE
        )[0]
        assert out.upper().startswith(("SELECT", "WITH"))


def test_covariate_queries_transpile_to_spark():
    from medmine.features import CovariateSettings
    from medmine.features.covariates import _long_sql

    s = CovariateSettings(age_groups=True, index_year=True, charlson_categories=True)
    for sql in _long_sql(s):
        sqlglot.transpile(
            sql.replace("{rows}", "cohort_rows"),
            read="duckdb",
            write="spark",
            unsupported_level=sqlglot.ErrorLevel.RAISE,
        )
