"""Simulated OMOP populations with hospital stays whose readmissions follow a known model.

Everything is drawn with numpy, vectorised over persons (the admission process loops over the
k-th admission of every person at once, not over persons), so 10^6 persons take minutes.

**Timeline.** Persons aged 18-95 enter observation between 2014 and 2016 and are followed to
2021-12-31 (10 % leave earlier). Chronic conditions (heart failure, COPD, type 2 diabetes,
chronic kidney disease, plus atrial fibrillation, myocardial infarction, coronary disease) are
diagnosed in the first 300 days of observation, with their drugs; admissions start after one
year, so every stay has a year of history. Outpatient visits carry acute conditions and
creatinine/glucose results.

**Admissions.** Unplanned ("spontaneous") admissions arrive as a Poisson process whose rate
rises with age and comorbidity; 6 % of them are planned (elective PCI or CABG, recorded as a
procedure during the stay). 4 % of stays include a transfer to another hospital on the day of
or the day after discharge (two visits, one stay). Hemoglobin and sodium are measured the day
before discharge.

**Length of stay** (days, discharge minus admission, at least 1) is log-normal:
``log LOS ~ N(mu, 0.55)`` with ``mu`` from `LOS_COEFFICIENTS` (per 10 years of age above 65 and
per comorbidity), giving a median of about 3-4 days as in US hospital statistics.

**30-day readmission.** After each discharge alive, a readmission within 1-30 days (3 % of
them the same day, at the same hospital) is drawn with probability
``sigmoid(x · READMISSION_COEFFICIENTS)``. The coefficients are log odds ratios chosen within the
ranges published for the LACE index (van Walraven et al., CMAJ 2010;182:551) and the HOSPITAL
score (Donzé et al., JAMA Intern Med 2013;173:632; reviewed by Kansagara et al., JAMA
2011;306:1688): heart failure OR 1.55, CKD 1.5, COPD 1.4, diabetes 1.2, each admission in the
previous year 1.25 (up to 5), stay of 5 days or more 1.3, hemoglobin below 12 g/dL at
discharge 1.3, male sex 1.1, age 1.08 per 10 years. The overall 30-day rate is about 15 %
(unplanned admissions that happen to fall within 30 days add to the modelled ones).
In-hospital death (about 2 %) and death within 90 days of discharge also depend on age and
heart failure; a death before a drawn readmission cancels it.

>>> pop = simulate(200, seed=1)
>>> pop.person.num_rows
200
"""

from __future__ import annotations

import numpy as np

from medmine.synth._population_codes import (
    ACUTE,
    ANCESTORS,
    CONDITIONS,
    DRUGS,
    EHR,
    FEMALE,
    INPATIENT,
    LABS,
    LOS_COEFFICIENTS,
    MALE,
    OUTPATIENT,
    PLANNED_PROCEDURES,
    READMISSION_COEFFICIENTS,
    STUDY_END,
    STUDY_START,
)
from medmine.synth._population_result import SimulatedPopulation
from medmine.synth._population_sim import _Simulator

__all__ = [
    "ACUTE",
    "ANCESTORS",
    "CONDITIONS",
    "DRUGS",
    "EHR",
    "FEMALE",
    "INPATIENT",
    "LABS",
    "LOS_COEFFICIENTS",
    "MALE",
    "OUTPATIENT",
    "PLANNED_PROCEDURES",
    "READMISSION_COEFFICIENTS",
    "STUDY_END",
    "STUDY_START",
    "SimulatedPopulation",
    "simulate",
]


def simulate(n_persons: int, seed: int = 0, *, id_base: int = 0) -> SimulatedPopulation:
    """Simulate `n_persons` persons with stays, readmissions and lengths of stay.

    Parameters
    ----------
    n_persons
        Number of persons (any size; about 21 warehouse rows per person).
    seed
        Random seed: the same seed gives identical tables.
    id_base
        Added to every row id, so several populations can share one warehouse.

    >>> a, b = simulate(100, seed=3), simulate(100, seed=3)
    >>> a.visit_occurrence.equals(b.visit_occurrence)
    True
    """
    if n_persons < 1:
        raise ValueError(f"n_persons must be >= 1. Got {n_persons} instead.")
    rng = np.random.default_rng(seed)
    return _Simulator(n_persons, rng, id_base).run(seed)
