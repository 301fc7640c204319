"""A measurement repeated under another id counts once in covariate counts (issue 13)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd

from medmine.features import CovariateSettings, extract_covariates


def test_repeated_measurement_counts_once(wh):
    con = wh.con
    con.execute(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
        "ethnicity_concept_id) VALUES (1, 8507, 1950, 0, 0)"
    )
    rows = [  # the same heart rate twice (Synthea's duplicate vital), and a real second one
        (1, dt.date(2020, 1, 1), 80.0),
        (2, dt.date(2020, 1, 1), 80.0),
        (3, dt.date(2020, 2, 1), 82.0),
    ]
    for mid, day, value in rows:
        con.execute(
            "INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, "
            "measurement_date, measurement_type_concept_id, value_as_number, "
            "unit_source_value, measurement_source_value) "
            "VALUES (?, 1, 3027018, ?, 32817, ?, '/min', 'LOINC:8867-4')",
            [mid, day, value],
        )
    frame = pd.DataFrame(
        {"row_id": [0], "person_id": [1], "index_date": [pd.Timestamp("2020-06-01")]}
    )
    s = CovariateSettings(counts=True, windows=(None,), domains=("measurement",))
    m = extract_covariates(wh, SimpleNamespace(frame=frame), s)
    col = next(c for c in m.columns if c.startswith("measurement:3027018"))
    assert float(m.column(col)[0]) == 2.0  # not 3
