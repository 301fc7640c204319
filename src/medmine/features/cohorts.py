"""Cohorts and prediction tasks: who is in, the index date, the time at risk and the outcome.

A `CohortDefinition` is plain configuration (dataclasses, loadable from YAML); `build_cohort`
turns it into rows inside the engine, one SQL step at a time, counting the attrition after each
step. Models only ever see `Cohort.frame`; how labels were made stays here.

>>> from medmine.warehouse import Warehouse
>>> wh = Warehouse(":memory:")
>>> c = build_cohort(wh, disease_risk())
>>> len(c.frame), c.attrition[-1].description
(0, 'minimum time at risk 364 days (or outcome)')

Conventions (OHDSI PatientLevelPrediction style):

* entry events come from a concept set (with descendants through ``concept_ancestor`` when
  that table holds them), from merged inpatient stays (`StaySettings`) or from SQL;
* the index date is the event start (``index="start"``) or end (``"end"``, e.g. discharge);
* washout = days of continuous observation required before the index date, within the
  observation period that contains the index date;
* inclusion/exclusion criteria count events in ``[index + start_day, index + end_day]``
  (``start_day=None``: any time before);
* the time at risk runs from ``anchor + start_day`` to ``anchor + end_day`` (anchor: index date
  or entry-event end), censored at the end of observation and at death; rows with less than
  ``min_days`` of follow-up are dropped unless they have the outcome (PLP's
  ``includeAllOutcomes``); a death inside the window counts as complete follow-up
  (``deaths_complete_follow_up``) so that dying is not a reason to leave the cohort.
"""

from __future__ import annotations

from medmine.features._build import FRAME_COLUMNS, build_cohort
from medmine.features._definition import (
    AttritionStep,
    Cohort,
    CohortDefinition,
    ConceptSet,
    Criterion,
    EntryEvent,
    OutcomeDefinition,
    StaySettings,
    TimeAtRisk,
)
from medmine.features.tasks import disease_risk, length_of_stay, readmission

__all__ = [
    "FRAME_COLUMNS",
    "AttritionStep",
    "Cohort",
    "CohortDefinition",
    "ConceptSet",
    "Criterion",
    "EntryEvent",
    "OutcomeDefinition",
    "StaySettings",
    "TimeAtRisk",
    "build_cohort",
    "disease_risk",
    "length_of_stay",
    "readmission",
]
