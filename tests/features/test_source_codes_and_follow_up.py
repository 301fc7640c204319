"""Features without a vocabulary (source codes) and follow-up that deaths and dates cannot cut."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from medmine.errors import ConfigError
from medmine.features import (
    CohortDefinition,
    ConceptSet,
    CovariateSettings,
    Criterion,
    EntryEvent,
    OutcomeDefinition,
    TimeAtRisk,
    build_cohort,
    extract_covariates,
    readmission,
)
from medmine.features.covariates import feature_domains
from medmine.features.dates import data_end_date, negative_durations, year_generalised
from medmine.warehouse import Warehouse

from .timeline import Timeline

DIABETES = "SNOMED:44054006"


@pytest.fixture
def tl():
    wh = Warehouse(":memory:")
    yield Timeline(wh)
    wh.close()


def _display(tl: Timeline, vocab: str, code: str, text: str) -> None:
    tl.wh.con.execute(
        "INSERT INTO mm_source_concept (vocabulary_id, code, display) VALUES (?, ?, ?)",
        [vocab, code, text],
    )


def test_covariates_come_from_source_codes_when_concepts_are_unmapped(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.condition(1, 0, "2014-06-01", source=DIABETES)
    tl.condition(1, 0, "2014-06-01", source="free text with a name")  # never a feature
    tl.measurement(1, 0, "2014-12-01", 7.5)
    tl.wh.con.execute("UPDATE measurement SET measurement_source_value = 'LOINC:4548-4'")
    _display(tl, "SNOMED", "44054006", "Diabetes mellitus type 2")
    cohort = build_cohort(tl.wh, readmission())
    s = CovariateSettings(windows=(None,), min_prevalence=0)
    m = extract_covariates(tl.wh, cohort, s)
    name = "condition:SNOMED:44054006 Diabetes mellitus type 2 [any,-1]"
    assert name in m.columns
    assert m.column(name).tolist() == [1.0]
    lab = next(c for c in m.columns if c.startswith("lab_last:LOINC:4548-4"))
    assert m.column(lab).tolist() == [7.5]
    assert not any("free text" in c for c in m.columns)
    domains = feature_domains(m.reference).set_index("domain")
    assert domains.loc["condition", "from_source_codes"] == 1
    assert domains.loc["lab_last", "from_source_codes"] == 1
    # scoring with the saved reference rebuilds the same columns from the same codes
    again = extract_covariates(tl.wh, cohort, s, reference=m.reference)
    assert again.columns == m.columns
    assert (again.X != m.X).nnz == 0


def test_concept_sets_match_source_codes_and_prefixes(tl):
    tl.person(1)
    tl.person(2)
    tl.person(3)
    tl.drug(1, 0, "2012-01-01")
    tl.drug(2, 0, "2012-01-01")
    tl.drug(3, 0, "2012-01-01")
    tl.wh.con.execute(
        "UPDATE drug_exposure SET drug_source_value = CASE person_id WHEN 1 THEN 'RxNorm:310798'"
        " WHEN 2 THEN 'RxNorm:310799' ELSE 'RxNorm:999' END"
    )
    for p in (1, 2, 3):
        tl.condition(p, 0, "2012-03-01", source=DIABETES)
    definition = CohortDefinition(
        name="t",
        entry=EntryEvent(
            concept_set=ConceptSet(source_codes=("RxNorm:310798", "RxNorm:31079*"), domain="drug")
        ),
        outcome=OutcomeDefinition(concept_set=ConceptSet(source_codes=(DIABETES,))),
        time_at_risk=TimeAtRisk(1, 365),
    )
    f = build_cohort(tl.wh, definition).frame
    assert f["person_id"].tolist() == [1, 2]
    assert f["outcome"].tolist() == [1, 1]


@pytest.mark.parametrize("bad", ["73211009", "SNOMED:", "SNOMED:7*3"])
def test_concept_set_refuses_malformed_source_codes(bad):
    with pytest.raises(ConfigError, match="VOCABULARY:code"):
        ConceptSet(source_codes=(bad,))


def test_concept_set_needs_something():
    with pytest.raises(ConfigError, match="at least one"):
        ConceptSet()


def test_planned_readmission_by_snomed_code_without_vocabulary(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.visit(1, "2015-01-15", "2015-01-17")
    tl.procedure(1, 0, "2015-01-15")
    tl.wh.con.execute("UPDATE procedure_occurrence SET procedure_source_value = 'SNOMED:232717009'")
    planned = ConceptSet(source_codes=("SNOMED:232717009",), domain="procedure")
    f = build_cohort(tl.wh, readmission(planned=planned)).frame
    assert f["outcome"].tolist() == [0, 0]


def test_death_ten_days_after_discharge_with_period_ending_at_death_stays_in_cohort(tl):
    # a real observation period that ends at death (as every EHR-derived period does)
    tl.person(1, obs=("2010-01-01", "2015-01-15"))
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.death(1, "2015-01-15")
    c = build_cohort(tl.wh, readmission())
    f = c.frame
    assert f["outcome"].tolist() == [0]
    assert f["death_in_window"].tolist() == [1]
    # and the option to exclude such deaths is an attrition line
    d = readmission()
    excl = dataclasses.replace(
        d, time_at_risk=dataclasses.replace(d.time_at_risk, exclude_deaths=True)
    )
    c2 = build_cohort(tl.wh, excl)
    assert c2.frame.empty
    assert any(s.description.startswith("deaths within the outcome window") for s in c2.attrition)


def test_readmission_before_death_is_still_an_outcome(tl):
    tl.person(1, obs=("2010-01-01", "2015-01-20"))
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.visit(1, "2015-01-10", "2015-01-19")
    tl.death(1, "2015-01-20")
    f = build_cohort(tl.wh, readmission()).frame
    first = f[f.index_date == pd.Timestamp("2015-01-05")]
    assert first["outcome"].tolist() == [1]
    assert first["death_in_window"].tolist() == [0]


def _fhir_person(tl: Timeline, pid: int, obs_end: str) -> None:
    tl.person(pid, obs=None)
    tl.wh.con.execute(
        "UPDATE person SET person_source_value = 'Patient/x' || person_id WHERE person_id = ?",
        [pid],
    )
    tl.wh.con.execute(
        "INSERT INTO observation_period VALUES (?, ?, DATE '2010-01-01', ?::DATE, 32817)",
        [pid, pid, obs_end],
    )


def test_derived_period_past_the_data_does_not_give_follow_up(tl):
    # derived from a drug supply end date in 2099: the data end on 2015-01-10
    _fhir_person(tl, 1, "2099-01-01")
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.visit(1, "2015-01-10", "2015-01-10", concept=9202)
    assert data_end_date(tl.wh).isoformat() == "2015-01-10"
    assert build_cohort(tl.wh, readmission()).frame.empty  # 5 days of follow-up, not 30


def test_derived_period_ending_at_last_visit_follows_up_to_the_data_end(tl):
    _fhir_person(tl, 1, "2015-01-05")  # derived: ends at the person's last event
    _fhir_person(tl, 2, "2015-06-01")
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.visit(2, "2015-06-01", "2015-06-01", concept=9202)  # the data run to June
    f = build_cohort(tl.wh, readmission()).frame
    assert f["person_id"].tolist() == [1]
    assert f["tar_end"].iloc[0] == pd.Timestamp("2015-02-04")


def test_implausibly_long_stays_are_excluded_and_counted(tl):
    tl.person(1)
    tl.person(2)
    tl.visit(1, "2000-01-01", "2015-01-05")  # a visit left open for 15 years
    tl.visit(2, "2015-01-01", "2015-01-05")
    c = build_cohort(tl.wh, readmission())
    assert c.frame["person_id"].tolist() == [2]
    step = next(s for s in c.attrition if s.description.startswith("stays longer than 365"))
    assert step.rows == 1


def test_negative_durations_and_year_generalised_dates_are_detected(tl):
    tl.person(1)
    tl.visit(1, "2015-01-05", "2015-01-01")
    assert negative_durations(tl.wh, (9201,)) == 1
    assert not year_generalised(tl.wh).generalised
    for y in range(2000, 2012):
        tl.visit(1, f"{y}-01-01", f"{y}-01-01")
    assert year_generalised(tl.wh).generalised


def test_charlson_scores_snomed_source_codes_without_vocabulary(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.condition(1, 0, "2014-01-01", source="SNOMED:88805009")  # chronic heart failure: 1
    tl.condition(1, 0, "2014-01-01", source="SNOMED:44054006")  # type 2 diabetes: 1 ...
    tl.condition(1, 0, "2014-02-01", source="SNOMED:127013003")  # ... but complicated: 2
    m = extract_covariates(tl.wh, build_cohort(tl.wh, readmission()))
    assert m.column("Charlson comorbidity index [any,-1]").tolist() == [3.0]


def test_source_codes_reach_descendants_where_a_vocabulary_is_loaded(tl):
    tl.wh.con.execute(
        "INSERT INTO concept (concept_id, concept_name, domain_id, vocabulary_id, "
        "concept_class_id, standard_concept, concept_code, valid_start_date, valid_end_date) "
        "VALUES (201826, 'Type 2 diabetes mellitus', 'Condition', 'SNOMED', 'Clinical Finding', "
        "'S', '44054006', DATE '1970-01-01', DATE '2099-12-31')"
    )
    tl.ancestor(201826, 443732)
    tl.person(1)
    tl.person(2)
    tl.visit(1, "2015-01-01", "2015-01-05")
    tl.visit(2, "2015-01-01", "2015-01-05")
    tl.condition(1, 443732, "2014-01-01")  # a mapped descendant, no source code
    definition = dataclasses.replace(
        readmission(),
        inclusion=(Criterion(ConceptSet(source_codes=(DIABETES,)), start_day=None, end_day=0),),
    )
    assert build_cohort(tl.wh, definition).frame["person_id"].tolist() == [1]
