"""A small warehouse with known syndrome events, visits and locations."""

from __future__ import annotations

import datetime as dt

import pytest

from medmine.warehouse import Warehouse


def build_warehouse(path) -> Warehouse:
    wh = Warehouse(path)
    con = wh.con
    con.execute(
        "INSERT INTO location (location_id, state, zip, county) VALUES "
        "(1, 'MA', '02139', 'Middlesex'), (2, 'NY', '10001', NULL)"
    )
    # persons: 1, 2 in MA (born 1990, 1950), 3 in NY (born 2020), 4 without location
    con.execute(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
        "ethnicity_concept_id, location_id) VALUES "
        "(1, 8507, 1990, 0, 0, 1), (2, 8532, 1950, 0, 0, 1), (3, 8507, 2020, 0, 0, 2), "
        "(4, 8532, 1980, 0, 0, NULL)"
    )
    rows = [
        # (id, person, concept, date, source value)
        (1, 1, 0, "2024-01-02", "ICD10CM:J10.1"),  # ILI by ICD-10 prefix J10*
        (2, 1, 0, "2024-01-03", "R50.9"),  # same person, same week: counted once
        (3, 2, 0, "2024-01-04", "SNOMED:6142004"),  # influenza SNOMED
        (4, 3, 4112343, "2024-01-10", None),  # acute viral pharyngitis by concept id
        (5, 4, 0, "2024-01-17", "J11"),  # ILI, no location
        (6, 2, 0, "2024-01-17", "K52.9"),  # GI, not ILI
    ]
    for r in rows:
        con.execute(
            "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
            "condition_concept_id, condition_start_date, condition_type_concept_id, "
            "condition_source_value) VALUES (?, ?, ?, ?, 0, ?)",
            [r[0], r[1], r[2], dt.date.fromisoformat(r[3]), r[4]],
        )
    visits = [
        # inpatient stays: 2024-01-01..01-04 and 2024-01-03..01-05; one ED visit
        (1, 1, 9201, "2024-01-01", "2024-01-04"),
        (2, 2, 9201, "2024-01-03", "2024-01-05"),
        (3, 3, 9203, "2024-01-03", "2024-01-03"),
    ]
    for v in visits:
        con.execute(
            "INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id, "
            "visit_start_date, visit_end_date, visit_type_concept_id) VALUES (?, ?, ?, ?, ?, 0)",
            [v[0], v[1], v[2], dt.date.fromisoformat(v[3]), dt.date.fromisoformat(v[4])],
        )
    return wh


@pytest.fixture
def small_wh(tmp_path):
    wh = build_warehouse(str(tmp_path / "s.duckdb"))
    yield wh
    wh.close()
