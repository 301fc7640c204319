"""Hand-built OMOP timelines for label and leakage tests (plain SQL inserts, dates as text)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from medmine.warehouse import Warehouse


@dataclass
class Timeline:
    """A tiny warehouse written row by row; every helper returns the new row's id."""

    wh: Warehouse
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _id(self) -> int:
        return next(self._ids)

    def person(
        self, pid: int, *, born: int = 1950, gender: int = 8507, obs=("2000-01-01", "2020-12-31")
    ) -> int:
        self.wh.con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
            "ethnicity_concept_id) VALUES (?, ?, ?, 8527, 38003564)",
            [pid, gender, born],
        )
        if obs:
            self.observation(pid, *obs)
        return pid

    def observation(self, pid: int, start: str, end: str) -> int:
        i = self._id()
        self.wh.con.execute(
            "INSERT INTO observation_period VALUES (?, ?, ?::DATE, ?::DATE, 32817)",
            [i, pid, start, end],
        )
        return i

    def visit(
        self, pid: int, start: str, end: str, *, site: int | None = 1, concept: int = 9201
    ) -> int:
        i = self._id()
        self.wh.con.execute(
            "INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id, "
            "visit_start_date, visit_end_date, visit_type_concept_id, care_site_id) "
            "VALUES (?, ?, ?, ?::DATE, ?::DATE, 32817, ?)",
            [i, pid, concept, start, end, site],
        )
        return i

    def condition(self, pid: int, concept: int, date: str, source: str | None = None) -> int:
        i = self._id()
        self.wh.con.execute(
            "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
            "condition_concept_id, condition_start_date, condition_type_concept_id, "
            "condition_source_value) VALUES (?, ?, ?, ?::DATE, 32817, ?)",
            [i, pid, concept, date, source],
        )
        return i

    def drug(self, pid: int, concept: int, date: str) -> int:
        i = self._id()
        self.wh.con.execute(
            "INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id, "
            "drug_exposure_start_date, drug_exposure_end_date, drug_type_concept_id) "
            "VALUES (?, ?, ?, ?::DATE, ?::DATE, 32817)",
            [i, pid, concept, date, date],
        )
        return i

    def procedure(self, pid: int, concept: int, date: str) -> int:
        i = self._id()
        self.wh.con.execute(
            "INSERT INTO procedure_occurrence (procedure_occurrence_id, person_id, "
            "procedure_concept_id, procedure_date, procedure_type_concept_id) "
            "VALUES (?, ?, ?, ?::DATE, 32817)",
            [i, pid, concept, date],
        )
        return i

    def measurement(self, pid: int, concept: int, date: str, value: float | None) -> int:
        i = self._id()
        self.wh.con.execute(
            "INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, "
            "measurement_date, measurement_type_concept_id, value_as_number) "
            "VALUES (?, ?, ?, ?::DATE, 32817, ?)",
            [i, pid, concept, date, value],
        )
        return i

    def death(self, pid: int, date: str) -> None:
        self.wh.con.execute(
            "INSERT INTO death (person_id, death_date) VALUES (?, ?::DATE)", [pid, date]
        )

    def ancestor(self, ancestor: int, descendant: int) -> None:
        self.wh.con.execute(
            "INSERT INTO concept_ancestor VALUES (?, ?, 1, 1)", [ancestor, descendant]
        )
