"""Cohort definitions and built cohorts, as plain data: concept sets, stays, entry, criteria,
time at risk, outcome; `Cohort` with its attrition.

`medmine.features.cohorts` documents the conventions and re-exports these with the builder and
the ready tasks; this module sits below both so that they can share it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from medmine.errors import ConfigError
from medmine.features._sql import domain, int_list, plus_days, values_table
from medmine.warehouse.sql import ident, literal

# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ConceptSet:
    """Concepts of one domain by OMOP concept id and/or by source code, optionally with descendants.

    `source_codes` are ``"VOCABULARY:code"`` strings as the readers store them in
    ``*_source_value`` (for example ``"SNOMED:73211009"``, ``"ICD10PCS:0210093"``,
    ``"CPT4:92920"``); a trailing ``*`` matches every code with that prefix
    (``"ICD10PCS:021*"``). They match events whether or not a vocabulary is loaded; where the
    warehouse has a ``concept`` table, the concepts of those codes (and their descendants) match
    too. A set needs at least one concept id or source code.

    >>> ConceptSet((192671,), domain="condition").concept_ids
    (192671,)
    >>> ConceptSet(source_codes=("SNOMED:73211009",)).source_codes
    ('SNOMED:73211009',)
    """

    concept_ids: tuple[int, ...] = ()
    include_descendants: bool = True
    domain: str = "condition"
    name: str = ""
    exclude_ids: tuple[int, ...] = ()
    source_codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "concept_ids", tuple(int(c) for c in self.concept_ids))
        object.__setattr__(self, "exclude_ids", tuple(int(c) for c in self.exclude_ids))
        codes = tuple(str(c).strip() for c in self.source_codes)
        for c in codes:
            vocab, _, code = c.partition(":")
            if not vocab or not code or "*" in code[:-1]:
                raise ConfigError(
                    "ConceptSet source codes must read 'VOCABULARY:code' (a '*' only at the "
                    f"end, for a prefix). Got {c!r} instead."
                )
        object.__setattr__(self, "source_codes", codes)
        if not self.concept_ids and not self.source_codes:
            raise ConfigError(
                f"ConceptSet {self.name or '(unnamed)'!r} needs at least one concept id or "
                "source code."
            )

    def _exact_codes(self) -> list[str]:
        return [c for c in self.source_codes if not c.endswith("*")]

    def _prefixes(self) -> list[str]:
        return [c[:-1] for c in self.source_codes if c.endswith("*")]

    def _code_match(self, column: str) -> str:
        """SQL condition: `column` (a ``VOCAB:code`` text) is one of the set's source codes."""
        parts = []
        exact = self._exact_codes()
        if exact:
            parts.append(f"{column} IN ({', '.join(literal(c) for c in exact)})")
        parts += [f"starts_with({column}, {literal(p)})" for p in self._prefixes()]
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"

    def concepts_sql(self, has_ancestor: bool = True, has_concept: bool = False) -> str:
        """SQL selecting the ``concept_id`` values of the set (ids and codes found in `concept`)."""
        selects = []
        if self.concept_ids:
            selects.append(f"SELECT concept_id FROM {values_table(self.concept_ids)}")
        if self.source_codes and has_concept:
            match = self._code_match("(vocabulary_id || ':' || concept_code)")
            selects.append(f"SELECT concept_id FROM concept WHERE {match}")
        if not selects:
            return "SELECT CAST(NULL AS BIGINT) AS concept_id WHERE FALSE"
        base = " UNION ".join(selects)
        sql = base
        if self.include_descendants and has_ancestor:
            sql += (
                " UNION SELECT descendant_concept_id AS concept_id FROM concept_ancestor "
                f"WHERE ancestor_concept_id IN ({base})"
            )
        if self.exclude_ids:
            drop = int_list(self.exclude_ids)
            sql = f"SELECT concept_id FROM ({sql}) s WHERE concept_id NOT IN ({drop})"
        return sql

    def events_sql(self, has_ancestor: bool = True, has_concept: bool = False) -> str:
        """Events of the set: ``person_id, event_id, concept_id, event_date, event_end_date``.

        An event matches by its standard concept, its source concept, or its source code.
        """
        d = domain(self.domain)
        start, concept = f"e.{ident(d.start_column)}", f"e.{ident(d.concept_column)}"
        end = f"coalesce(e.{ident(d.end_column)}, {start})" if d.end_column else start
        ids = self.concepts_sql(has_ancestor, has_concept)
        cond = [f"{concept} IN ({ids})"]
        if d.source_concept_column and (self.concept_ids or has_concept):
            cond.append(f"e.{ident(d.source_concept_column)} IN ({ids})")
        if self.source_codes:
            cond.append(self._code_match(f"e.{ident(d.source_value_column)}"))
        return (
            f"SELECT e.person_id, e.{ident(d.id_column)} AS event_id, {concept} AS concept_id, "
            f"{start} AS event_date, greatest({end}, {start}) AS event_end_date "
            f"FROM {ident(d.table)} e WHERE ({' OR '.join(cond)})"
        )


@dataclass(frozen=True)
class StaySettings:
    """Inpatient stays built from visits: contiguous transfers merged into one stay.

    A visit that starts before the previous visit of the stay has ended, or that starts within
    `transfer_gap_days` of its discharge at another care site, is a transfer: it extends the
    stay instead of starting a new one. A new visit at the *same* care site on the day of
    discharge (or with both care sites unknown) is a new stay, i.e. a same-day readmission.
    As an entry event, a stay longer than `max_stay_days` is implausible (a visit left open for
    years) and is excluded with its own attrition line (``None`` keeps every stay).
    """

    visit_concept_ids: tuple[int, ...] = (9201, 262)
    merge_transfers: bool = True
    transfer_gap_days: int = 1
    exclude_in_hospital_death: bool = True
    max_stay_days: int | None = 365

    def events_sql(self) -> str:
        """Stays: ``person_id, event_id, concept_id, event_date, event_end_date, n_visits``."""
        v = domain("visit")
        vid, vconcept = ident(v.id_column), ident(v.concept_column)
        vstart, vend = ident(v.start_column), ident(v.end_column)
        gap = int(self.transfer_gap_days)
        transfer = (
            f"OR (v.start_date <= {plus_days('v.prev_end', gap)} "
            "AND v.care_site_id IS DISTINCT FROM v.prev_care_site)"
            if self.merge_transfers
            else ""
        )
        # Visits in order of their recorded dates; an end before the start counts as the start.
        order = f"ORDER BY {vstart}, {vend}, {vid}"
        end = f"greatest({vend}, {vstart})"
        return f"""
        SELECT person_id, min(event_id) AS event_id,
               min(concept_id) AS concept_id, min(start_date) AS event_date,
               max(end_date) AS event_end_date, count(*) AS n_visits
        FROM (
            SELECT v.*, sum(CASE WHEN v.prev_end IS NOT NULL AND (v.start_date < v.prev_end
                       {transfer}) THEN 0 ELSE 1 END)
                   OVER (PARTITION BY v.person_id ORDER BY v.start_date, v.end_date, v.event_id
                         ROWS UNBOUNDED PRECEDING) AS stay_no
            FROM (
                SELECT person_id, {vid} AS event_id, {vconcept} AS concept_id,
                       {vstart} AS start_date, {end} AS end_date, care_site_id,
                       max({end}) OVER (
                           PARTITION BY person_id {order}
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end,
                       lag(care_site_id) OVER (PARTITION BY person_id {order}) AS prev_care_site
                FROM {ident(v.table)}
                WHERE {vconcept} IN ({int_list(self.visit_concept_ids)})
            ) v
        ) s
        GROUP BY person_id, stay_no
        """


@dataclass(frozen=True)
class EntryEvent:
    """What puts a person in the cohort: concept-set events, inpatient stays or a SQL query.

    `sql` must select ``person_id, event_id, concept_id, event_date, event_end_date``.
    """

    concept_set: ConceptSet | None = None
    stays: StaySettings | None = None
    sql: str | None = None
    index: str = "start"
    first_occurrence: bool = False
    washout_days: int = 0

    def validate(self) -> None:
        """Raise `ConfigError` unless exactly one source is set and `index` is known."""
        n = sum(x is not None for x in (self.concept_set, self.stays, self.sql))
        if n != 1:
            raise ConfigError(
                "An EntryEvent needs exactly one of 'concept_set', 'stays' or 'sql'. "
                f"Got {n} instead."
            )
        if self.index not in ("start", "end"):
            raise ConfigError(
                f"The 'index' parameter of EntryEvent must be 'start' or 'end'. "
                f"Got {self.index!r} instead."
            )
        if self.washout_days < 0:
            raise ConfigError(
                f"The 'washout_days' parameter of EntryEvent must be >= 0. "
                f"Got {self.washout_days} instead."
            )


@dataclass(frozen=True)
class Criterion:
    """Events of a concept set in a window around the index date (days, both ends included).

    ``start_day=None`` means any time before. As an inclusion criterion at least `min_count`
    events are required; as an exclusion criterion none may occur.
    """

    concept_set: ConceptSet
    start_day: int | None = -365
    end_day: int = 0
    min_count: int = 1
    name: str = ""

    def label(self) -> str:
        """Human-readable description used in the attrition table."""
        what = self.name or self.concept_set.name or f"concepts {self.concept_set.concept_ids}"
        start = "any time" if self.start_day is None else str(self.start_day)
        return f"{what} in [{start}, {self.end_day}]"


@dataclass(frozen=True)
class TimeAtRisk:
    """The window in which the outcome is looked for.

    `start_anchor`/`end_anchor` are ``"index"`` (the index date) or ``"entry_end"`` (the end
    of the entry event, e.g. the discharge of a stay whose index is the admission).
    """

    start_day: int = 1
    end_day: int = 365
    start_anchor: str = "index"
    end_anchor: str = "index"
    min_days: int = 0
    censor_at_observation_end: bool = True
    censor_at_death: bool = True
    deaths_complete_follow_up: bool = True
    exclude_deaths: bool = False

    def validate(self) -> None:
        """Raise `ConfigError` on unknown anchors or an empty window."""
        for a in (self.start_anchor, self.end_anchor):
            if a not in ("index", "entry_end"):
                raise ConfigError(
                    f"TimeAtRisk anchors must be 'index' or 'entry_end'. Got {a!r} instead."
                )
        if self.start_anchor == self.end_anchor and self.end_day < self.start_day:
            raise ConfigError(
                f"TimeAtRisk end_day ({self.end_day}) precedes start_day ({self.start_day})."
            )


@dataclass(frozen=True)
class OutcomeDefinition:
    """The outcome event: a concept set, (unplanned) inpatient stays, or SQL.

    `sql` must select ``person_id, event_id, event_date``. `planned` marks stays as planned
    when an event of that set falls inside them; planned stays are not outcomes. When entry and
    outcome are both stays, the entry stay itself never counts as its own outcome.
    """

    concept_set: ConceptSet | None = None
    stays: StaySettings | None = None
    sql: str | None = None
    planned: ConceptSet | None = None
    name: str = "outcome"

    def validate(self) -> None:
        """Raise `ConfigError` unless exactly one source is set."""
        n = sum(x is not None for x in (self.concept_set, self.stays, self.sql))
        if n != 1:
            raise ConfigError(
                "An OutcomeDefinition needs exactly one of 'concept_set', 'stays' or 'sql'. "
                f"Got {n} instead."
            )


@dataclass(frozen=True)
class CohortDefinition:
    """A prediction task: target population, index date, time at risk and outcome.

    `target` adds a continuous ``target`` column: ``"length_of_stay"`` = days from entry-event
    start to end (the outcome flag then means ``target > long_stay_days``).
    """

    name: str
    entry: EntryEvent
    outcome: OutcomeDefinition | None = None
    time_at_risk: TimeAtRisk = field(default_factory=TimeAtRisk)
    inclusion: tuple[Criterion, ...] = ()
    exclusion: tuple[Criterion, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    study_start: str | None = None
    study_end: str | None = None
    target: str | None = None
    long_stay_days: int = 7
    description: str = ""

    def validate(self) -> None:
        """Check the whole definition; raise `ConfigError` on the first problem."""
        self.entry.validate()
        self.time_at_risk.validate()
        if self.outcome is not None:
            self.outcome.validate()
        if self.target not in (None, "length_of_stay"):
            raise ConfigError(
                f"The 'target' parameter of CohortDefinition must be None or "
                f"'length_of_stay'. Got {self.target!r} instead."
            )
        if self.outcome is None and self.target is None:
            raise ConfigError(f"cohort {self.name!r} needs an outcome or a target")

    # ---- (de)serialisation ----
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (YAML/JSON ready); `from_dict` inverts it."""
        return _to_plain(self)

    def to_yaml(self) -> str:
        """YAML text of the definition."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CohortDefinition:
        """Build a definition from a plain dict (as written by `to_dict` or YAML)."""
        return _from_plain(cls, data)

    @classmethod
    def from_yaml(cls, source: str | Path) -> CohortDefinition:
        """Load a definition from a YAML file path or YAML text.

        >>> d = CohortDefinition.from_yaml('''
        ... name: gi_bleed
        ... entry: {concept_set: {concept_ids: [1118084], domain: drug}, first_occurrence: true}
        ... outcome: {concept_set: {concept_ids: [192671]}}
        ... ''')
        >>> d.entry.concept_set.domain, d.time_at_risk.end_day
        ('drug', 365)
        """
        text = str(source)
        if isinstance(source, Path) or (
            "\n" not in text and text.endswith((".yaml", ".yml")) and Path(text).exists()
        ):
            text = Path(source).read_text()
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ConfigError("a cohort definition in YAML must be a mapping")
        return cls.from_dict(data)


def _to_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [_to_plain(x) for x in obj]
    return obj


def _from_plain(tp: Any, value: Any) -> Any:
    """Convert plain data to type `tp` (dataclasses, tuples, optionals)."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _from_plain(args[0], value)
    if origin is tuple:
        (inner, *_) = typing.get_args(tp)
        return tuple(_from_plain(inner, v) for v in value)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{tp.__name__} expects a mapping, got {value!r}")
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = set(value) - names
        if unknown:
            raise ConfigError(
                f"unknown field(s) {sorted(unknown)} for {tp.__name__}; known: {sorted(names)}"
            )
        return tp(**{k: _from_plain(hints[k], v) for k, v in value.items()})
    return value


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class AttritionStep:
    """Persons and rows left after one step of a cohort build."""

    description: str
    persons: int
    rows: int


@dataclass
class Cohort:
    """A built cohort: one row per (person, index date) with its label.

    `frame` columns: ``row_id, person_id, index_date, tar_start, tar_end, outcome,
    outcome_date, gender_concept_id, year_of_birth, race_concept_id, ethnicity_concept_id,
    age_at_index, entry_event_id, entry_concept_id, entry_start_date, entry_end_date`` (plus
    ``target`` for continuous tasks). `sql` lists every step's ``SELECT`` (temp table name and
    description first), the reviewable record of how the labels were made.
    """

    definition: CohortDefinition
    frame: pd.DataFrame
    attrition: list[AttritionStep]
    purpose: str = "research"
    sql: list[tuple[str, str]] = field(default_factory=list)

    @property
    def outcome_rate(self) -> float:
        """Share of rows with the outcome (NaN when empty)."""
        return float(self.frame["outcome"].mean()) if len(self.frame) else float("nan")

    def attrition_frame(self) -> pd.DataFrame:
        """The attrition table as a DataFrame."""
        return pd.DataFrame([dataclasses.asdict(s) for s in self.attrition])
