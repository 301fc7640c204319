"""Ready prediction tasks: GI bleed risk in NSAID new users, 30-day readmission, length of stay.

Each function returns a `CohortDefinition`; pass it to `build_cohort`. Their YAML form
(``definition.to_yaml()``) is the reproducible record of a study's task.
"""

from __future__ import annotations

from medmine.features._definition import (
    CohortDefinition,
    ConceptSet,
    Criterion,
    EntryEvent,
    OutcomeDefinition,
    StaySettings,
    TimeAtRisk,
)

#: RxNorm ingredients of the Eunomia OHDSI example.
CELECOXIB = 1118084
DICLOFENAC = 1124300
#: SNOMED "Gastrointestinal hemorrhage".
GI_HEMORRHAGE = 192671
#: OMOP visit concepts of inpatient stays: Inpatient Visit, Emergency Room and Inpatient Visit.
INPATIENT_VISITS = (9201, 262)


def disease_risk(
    washout_days: int = 365,
    *,
    drugs: tuple[int, ...] = (CELECOXIB, DICLOFENAC),
    outcome_concept: int = GI_HEMORRHAGE,
    risk_window_days: int = 365,
) -> CohortDefinition:
    """GI hemorrhage within a year of starting celecoxib or diclofenac (Eunomia's example).

    Entry: first exposure to either ingredient (any descendant drug concept), with
    `washout_days` of prior observation; persons with a GI bleed on or before the index date
    are excluded; outcome: GI hemorrhage (with descendants) 1 to `risk_window_days` days after
    index; at least ``risk_window_days - 1`` days of follow-up unless the outcome occurs.

    >>> disease_risk().entry.concept_set.concept_ids
    (1118084, 1124300)
    """
    bleed = ConceptSet((outcome_concept,), domain="condition", name="GI hemorrhage")
    return CohortDefinition(
        name="disease_risk",
        description="GI hemorrhage after starting celecoxib or diclofenac (new users)",
        entry=EntryEvent(
            concept_set=ConceptSet(drugs, domain="drug", name="celecoxib or diclofenac"),
            first_occurrence=True,
            washout_days=washout_days,
        ),
        exclusion=(Criterion(bleed, start_day=None, end_day=0, name="prior GI hemorrhage"),),
        outcome=OutcomeDefinition(concept_set=bleed, name="GI hemorrhage"),
        time_at_risk=TimeAtRisk(
            start_day=1, end_day=risk_window_days, min_days=max(risk_window_days - 1, 0)
        ),
    )


def readmission(
    days: int = 30,
    *,
    planned: ConceptSet | None = None,
    washout_days: int = 0,
    min_age: int | None = 18,
    visit_concept_ids: tuple[int, ...] = INPATIENT_VISITS,
) -> CohortDefinition:
    """Unplanned readmission within `days` days of discharge from an inpatient stay.

    Every stay is an index (one row per discharge, persons repeat): visits of
    `visit_concept_ids` merged across transfers (`StaySettings`), index = discharge date, stays
    ending in death excluded. Outcome: admission to another stay starting 0 to `days` days
    after discharge (day 0 = same-day readmission at the same care site), unless planned
    (an event of `planned` during that stay). Follow-up must reach `days` days unless the person
    is readmitted or dies (death counts as complete follow-up, label 0).

    >>> readmission().time_at_risk.end_day
    30
    """
    stays = StaySettings(visit_concept_ids=visit_concept_ids)
    return CohortDefinition(
        name="readmission",
        description=f"unplanned readmission within {days} days of discharge",
        entry=EntryEvent(stays=stays, index="end", washout_days=washout_days),
        outcome=OutcomeDefinition(
            stays=StaySettings(
                visit_concept_ids=visit_concept_ids, exclude_in_hospital_death=False
            ),
            planned=planned,
            name="unplanned readmission",
        ),
        time_at_risk=TimeAtRisk(start_day=0, end_day=days, min_days=days),
        min_age=min_age,
    )


def length_of_stay(
    *,
    long_stay_days: int = 7,
    washout_days: int = 0,
    min_age: int | None = 18,
    visit_concept_ids: tuple[int, ...] = INPATIENT_VISITS,
) -> CohortDefinition:
    """Length of inpatient stays (days, continuous ``target``) predicted at admission.

    Index = admission date; ``target`` = discharge minus admission in days of the merged stay;
    ``outcome`` = ``target > long_stay_days``. Stays ending in death are excluded (their length
    is truncated by death).

    >>> length_of_stay().target
    'length_of_stay'
    """
    return CohortDefinition(
        name="length_of_stay",
        description="length of inpatient stays, predicted at admission",
        entry=EntryEvent(
            stays=StaySettings(visit_concept_ids=visit_concept_ids),
            index="start",
            washout_days=washout_days,
        ),
        time_at_risk=TimeAtRisk(
            start_day=0, end_day=0, end_anchor="entry_end", censor_at_observation_end=False
        ),
        target="length_of_stay",
        long_stay_days=long_stay_days,
        min_age=min_age,
    )
