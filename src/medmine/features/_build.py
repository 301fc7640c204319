"""Compile a `CohortDefinition` into SQL steps and run them (one temp table per step).

Each step is a ``CREATE TEMP TABLE ... AS SELECT`` in DuckDB SQL restricted to constructs
SQLGlot transpiles (see `medmine.features._sql`); the attrition is counted after every filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from medmine.features._definition import (
    AttritionStep,
    Cohort,
    CohortDefinition,
    Criterion,
    EntryEvent,
    OutcomeDefinition,
)
from medmine.features._sql import days_between, plus_days, table_exists, temp_name
from medmine.features.dates import data_end_date
from medmine.features.persons import select_persons
from medmine.warehouse.sql import ident, literal

if TYPE_CHECKING:
    from medmine.warehouse import Warehouse

#: Period type of the observation periods the FHIR reader derives (OMOP "EHR"); see
#: `medmine.ingest.fhir` (one period per person, id = person id, first to last event).
TYPE_EHR_DERIVED = 32817

FRAME_COLUMNS = [
    "row_id",
    "person_id",
    "index_date",
    "tar_start",
    "tar_end",
    "outcome",
    "outcome_date",
    "gender_concept_id",
    "year_of_birth",
    "race_concept_id",
    "ethnicity_concept_id",
    "age_at_index",
    "entry_event_id",
    "entry_concept_id",
    "entry_start_date",
    "entry_end_date",
    "death_in_window",
]


class _Steps:
    """Materialises each step as a temp table and records the attrition."""

    def __init__(self, con) -> None:
        self.con = con
        self.tables: list[str] = []
        self.attrition: list[AttritionStep] = []
        self.sql: list[tuple[str, str]] = []

    def step(self, description: str, sql: str) -> str:
        """Materialise `sql` as a new temp table; return its quoted name."""
        name = temp_name("cohort")
        table = ident(name)
        self.sql.append((f"{name}: {description}", sql))
        self.con.execute(f"CREATE TEMP TABLE {table} AS {sql}")
        self.tables.append(table)
        persons, rows = self.con.execute(
            f"SELECT count(DISTINCT person_id), count(*) FROM {table}"
        ).fetchone()
        self.attrition.append(AttritionStep(description, int(persons), int(rows)))
        return table

    def drop(self) -> None:
        for t in self.tables:
            self.con.execute(f"DROP TABLE IF EXISTS {t}")


def _consent(wh: Warehouse, purpose: str) -> tuple[str | None, AttritionStep | None]:
    """The consent filter for `purpose` (from `select_persons`, the one place it is applied)."""
    f = select_persons(wh, purpose)
    if f.person_ids_sql is None:
        return None, None
    return f.person_ids_sql, AttritionStep(
        f"consent for {purpose}: {f.excluded} excluded", f.eligible, f.eligible
    )


def _entry_sql(entry: EntryEvent, has_ancestor: tuple[bool, bool]) -> str:
    if entry.concept_set is not None:
        return entry.concept_set.events_sql(*has_ancestor)
    if entry.stays is not None:
        return (
            "SELECT person_id, event_id, concept_id, event_date, event_end_date "
            f"FROM ({entry.stays.events_sql()}) st"
        )
    return (
        f"SELECT person_id, event_id, concept_id, event_date, event_end_date FROM ({entry.sql}) q"
    )


def _outcome_sql(outcome: OutcomeDefinition, has_ancestor: tuple[bool, bool]) -> str:
    if outcome.concept_set is not None:
        sql = outcome.concept_set.events_sql(*has_ancestor)
    elif outcome.stays is not None:
        sql = outcome.stays.events_sql()
    else:
        sql = (
            "SELECT person_id, event_id, event_date, event_date AS event_end_date "
            f"FROM ({outcome.sql}) q"
        )
    sql = f"SELECT person_id, event_id, event_date, event_end_date FROM ({sql}) o0"
    if outcome.planned is not None:
        sql = (
            f"SELECT o.* FROM ({sql}) o WHERE NOT EXISTS (SELECT 1 FROM "
            f"({outcome.planned.events_sql(*has_ancestor)}) p WHERE p.person_id = o.person_id "
            "AND p.event_date BETWEEN o.event_date AND o.event_end_date)"
        )
    return sql


def _criterion_exists(c: Criterion, has_ancestor: tuple[bool, bool], alias: str = "c") -> str:
    lo = (
        ""
        if c.start_day is None
        else f" AND x.event_date >= {plus_days(f'{alias}.index_date', c.start_day)}"
    )
    cond = (
        f"x.person_id = {alias}.person_id AND x.event_date <= "
        f"{plus_days(f'{alias}.index_date', c.end_day)}{lo}"
    )
    events = c.concept_set.events_sql(*has_ancestor)
    if c.min_count <= 1:
        return f"EXISTS (SELECT 1 FROM ({events}) x WHERE {cond})"
    return f"(SELECT count(*) FROM ({events}) x WHERE {cond}) >= {int(c.min_count)}"


def build_cohort(
    wh: Warehouse, definition: CohortDefinition, *, purpose: str = "research"
) -> Cohort:
    """Build `definition` in the warehouse and return its rows, labels and attrition.

    Parameters
    ----------
    wh
        A `medmine.warehouse.Warehouse`.
    definition
        The task. See `disease_risk`, `readmission`, `length_of_stay` for ready ones.
    purpose
        Consent purpose; persons who may not be used for it are removed first (see
        `medmine.features.persons`).

    >>> from medmine.warehouse import Warehouse
    >>> from medmine.features import readmission
    >>> build_cohort(Warehouse(":memory:"), readmission()).frame.shape[1] >= 16
    True
    """
    definition.validate()
    con = wh.con
    has_anc = (_has_rows(con, "concept_ancestor"), _has_rows(con, "concept"))
    data_end = data_end_date(wh)
    e = definition.entry
    steps = _Steps(con)
    try:
        consent_sql, consent_step = _consent(wh, purpose)
        if consent_step is not None:
            steps.attrition.append(consent_step)
        where = f"WHERE ev.person_id IN ({consent_sql})" if consent_sql else ""
        index = "ev.event_date" if e.index == "start" else "ev.event_end_date"
        t = steps.step(
            "entry events",
            f"SELECT ev.*, {index} AS index_date FROM ({_entry_sql(e, has_anc)}) ev {where}",
        )
        if e.first_occurrence:
            t = steps.step(
                "first occurrence per person",
                "SELECT person_id, event_id, concept_id, event_date, event_end_date, index_date "
                f"FROM (SELECT *, row_number() OVER (PARTITION BY "
                f"person_id ORDER BY event_date, event_id) AS rn FROM {t}) z WHERE rn = 1",
            )
        if e.stays is not None and e.stays.max_stay_days is not None:
            t = steps.step(
                f"stays longer than {int(e.stays.max_stay_days)} days excluded (implausible)",
                f"SELECT * FROM {t} WHERE "
                f"{days_between('event_date', 'event_end_date')} <= {int(e.stays.max_stay_days)}",
            )
        # Follow-up never runs into the future. A period that medmine derived from FHIR events
        # (first to last event) says nothing about when observation stopped: its follow-up runs
        # to the data's end date (last recorded event, at most today), so that a period ending
        # at death or at the last visit cannot censor a stay (deaths are competing events).
        derived = (
            "(op.observation_period_id = op.person_id AND op.period_type_concept_id = "
            f"{TYPE_EHR_DERIVED} AND EXISTS (SELECT 1 FROM person pp WHERE pp.person_id = "
            "op.person_id AND pp.person_source_value LIKE 'Patient/%'))"
        )
        end = f"DATE {literal(str(data_end))}"
        obs_end = (
            f"CASE WHEN {derived} THEN {end} ELSE "
            f"least(op.observation_period_end_date, current_date) END"
        )
        t = steps.step(
            f"index in an observation period with >= {e.washout_days} days prior observation",
            f"SELECT c.*, {obs_end} AS obs_end FROM {t} c "
            "JOIN observation_period op ON op.person_id = c.person_id AND c.index_date BETWEEN "
            "op.observation_period_start_date AND op.observation_period_end_date "
            f"WHERE {days_between('op.observation_period_start_date', 'c.index_date')} "
            f">= {int(e.washout_days)}",
        )
        if definition.study_start or definition.study_end:
            lo = definition.study_start or "0001-01-01"
            hi = definition.study_end or "9999-12-31"
            t = steps.step(
                f"index date between {lo} and {hi}",
                f"SELECT * FROM {t} WHERE index_date BETWEEN DATE {literal(lo)} "
                f"AND DATE {literal(hi)}",
            )
        age = "(EXTRACT(YEAR FROM c.index_date) - p.year_of_birth)"
        t = steps.step(
            "person known",
            f"SELECT c.*, p.gender_concept_id, p.year_of_birth, p.race_concept_id, "
            f"p.ethnicity_concept_id, CAST({age} AS INTEGER) AS age_at_index "
            f"FROM {t} c JOIN person p ON p.person_id = c.person_id",
        )
        # A person loaded without a birth date (year unknown) has no age at index: left out
        # here, counted in the attrition, rather than given an age of 0 by a covariate.
        t = steps.step(
            "year of birth known (age at index needs it)",
            f"SELECT * FROM {t} WHERE year_of_birth IS NOT NULL",
        )
        if definition.min_age is not None or definition.max_age is not None:
            lo, hi = definition.min_age or 0, definition.max_age or 200
            t = steps.step(
                f"age at index in [{lo}, {hi}]",
                f"SELECT * FROM {t} WHERE age_at_index BETWEEN {int(lo)} AND {int(hi)}",
            )
        for crit in definition.inclusion:
            t = steps.step(
                f"with {crit.label()}",
                f"SELECT * FROM {t} c WHERE {_criterion_exists(crit, has_anc)}",
            )
        for crit in definition.exclusion:
            t = steps.step(
                f"without {crit.label()}",
                f"SELECT * FROM {t} c WHERE NOT {_criterion_exists(crit, has_anc)}",
            )
        death = "(SELECT person_id, min(death_date) AS death_date FROM death GROUP BY person_id)"
        if e.stays is not None and e.stays.exclude_in_hospital_death:
            t = steps.step(
                "in-hospital deaths excluded",
                f"SELECT c.* FROM {t} c WHERE NOT EXISTS (SELECT 1 FROM death d WHERE "
                "d.person_id = c.person_id AND d.death_date <= c.event_end_date)",
            )
        t = _time_at_risk(steps, t, definition, death, has_anc)
        frame = _finish(con, t, definition, steps)
        return Cohort(definition, frame, steps.attrition, purpose, steps.sql)
    finally:
        steps.drop()


def _has_rows(con, table: str) -> bool:
    return table_exists(con, table) and bool(
        con.execute(
            f"SELECT count(*) > 0 FROM (SELECT 1 FROM {ident(table)} LIMIT 1) t"
        ).fetchall()[0][0]
    )


def _anchor(name: str) -> str:
    return "c.index_date" if name == "index" else "c.event_end_date"


def _time_at_risk(
    steps: _Steps, t: str, definition: CohortDefinition, death: str, has_anc: tuple[bool, bool]
) -> str:
    tar = definition.time_at_risk
    start = plus_days(_anchor(tar.start_anchor), tar.start_day)
    nominal = plus_days(_anchor(tar.end_anchor), tar.end_day)
    obs_end = "c.obs_end" if tar.censor_at_observation_end else nominal
    death_end = "d.death_date" if tar.censor_at_death else nominal
    t = steps.step(
        "time at risk",
        f"SELECT c.*, {start} AS tar_start, least({nominal}, {obs_end}, "
        f"coalesce({death_end}, {nominal})) AS tar_end, "
        f"least({nominal}, {obs_end}) AS tar_end_follow_up, {nominal} AS tar_nominal, "
        "d.death_date, "
        "row_number() OVER (ORDER BY c.person_id, c.index_date, c.event_id) AS row_key "
        f"FROM {t} c LEFT JOIN {death} d ON d.person_id = c.person_id",
    )
    steps.attrition.pop()  # not a filter: no attrition line
    out = definition.outcome
    if out is not None:
        same = out.stays is not None and definition.entry.stays is not None
        not_self = " AND o.event_id <> c.event_id" if same else ""
        t = steps.step(
            "outcome",
            f"SELECT c.*, f.first_date AS outcome_date FROM {t} c LEFT JOIN ("
            f"SELECT c.row_key, min(o.event_date) AS first_date FROM {t} c "
            f"JOIN ({_outcome_sql(out, has_anc)}) o ON o.person_id = c.person_id "
            f"AND o.event_date BETWEEN c.tar_start AND c.tar_end{not_self} "
            "GROUP BY c.row_key) f ON f.row_key = c.row_key",
        )
    else:
        t = steps.step("no outcome", f"SELECT *, CAST(NULL AS DATE) AS outcome_date FROM {t}")
    steps.attrition.pop()
    need = int(tar.min_days)
    # A death inside the nominal window is a competing event: the row keeps its label (0 unless
    # the outcome came first) and needs no further follow-up; an observation period that ends
    # at death must not censor it.
    died = "(death_date IS NOT NULL AND death_date >= tar_start AND death_date <= tar_nominal)"
    complete = f" OR {died}" if tar.deaths_complete_follow_up else ""
    follow = "tar_end_follow_up" if tar.deaths_complete_follow_up else "tar_end"
    t = steps.step(
        f"minimum time at risk {need} days (or outcome{', or death' if complete else ''})",
        f"SELECT * FROM {t} WHERE outcome_date IS NOT NULL{complete} OR "
        f"({follow} >= tar_start AND {days_between('tar_start', follow)} >= {need})",
    )
    if tar.exclude_deaths:
        t = steps.step(
            "deaths within the outcome window excluded (option)",
            f"SELECT * FROM {t} WHERE NOT ({died} AND outcome_date IS NULL)",
        )
    return t


def _finish(con, t: str, definition: CohortDefinition, steps: _Steps) -> pd.DataFrame:
    """The cohort frame: one row per kept entry, ordered by person and index date."""
    target = ""
    outcome = "CASE WHEN outcome_date IS NULL THEN 0 ELSE 1 END"
    outcome_date = "outcome_date"
    if definition.target == "length_of_stay":
        los = days_between("event_date", "event_end_date")
        target = f", CAST({los} AS DOUBLE) AS target"
        if definition.outcome is None:
            k = int(definition.long_stay_days)
            outcome = f"CASE WHEN {los} > {k} THEN 1 ELSE 0 END"
            outcome_date = f"CASE WHEN {los} > {k} THEN {plus_days('event_date', k + 1)} END"
    final = f"""
        SELECT row_number() OVER (ORDER BY row_key) AS row_id, person_id, index_date,
               tar_start, tar_end, CAST({outcome} AS INTEGER) AS outcome,
               {outcome_date} AS outcome_date, gender_concept_id, year_of_birth,
               race_concept_id, ethnicity_concept_id, age_at_index,
               event_id AS entry_event_id, concept_id AS entry_concept_id,
               event_date AS entry_start_date, event_end_date AS entry_end_date,
               CAST(CASE WHEN outcome_date IS NULL AND death_date IS NOT NULL
                    AND death_date >= tar_start AND death_date <= tar_nominal THEN 1 ELSE 0 END
                    AS INTEGER) AS death_in_window{target}
        FROM {t} ORDER BY row_key
        """
    steps.sql.append(("frame", final))
    frame = con.execute(final).df()
    for col in (
        "index_date",
        "tar_start",
        "tar_end",
        "outcome_date",
        "entry_start_date",
        "entry_end_date",
    ):
        frame[col] = pd.to_datetime(frame[col])
    frame["row_id"] = frame["row_id"].astype("int64")
    frame["outcome"] = frame["outcome"].astype("int8")
    frame["death_in_window"] = frame["death_in_window"].astype("int8")
    return frame
