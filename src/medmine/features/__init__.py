"""Features: cohorts (who, index date, time at risk, label) and covariates (time-windowed, sparse).

>>> from medmine.features import build_cohort, extract_covariates, readmission
"""

from medmine.features.cohorts import (
    AttritionStep,
    Cohort,
    CohortDefinition,
    ConceptSet,
    Criterion,
    EntryEvent,
    OutcomeDefinition,
    StaySettings,
    TimeAtRisk,
    build_cohort,
    disease_risk,
    length_of_stay,
    readmission,
)
from medmine.features.covariates import CovariateMatrix, CovariateSettings, extract_covariates

__all__ = [
    "AttritionStep",
    "Cohort",
    "CohortDefinition",
    "ConceptSet",
    "CovariateMatrix",
    "CovariateSettings",
    "Criterion",
    "EntryEvent",
    "OutcomeDefinition",
    "StaySettings",
    "TimeAtRisk",
    "build_cohort",
    "disease_risk",
    "extract_covariates",
    "length_of_stay",
    "readmission",
]
