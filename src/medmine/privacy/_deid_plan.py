"""The SELECT that de-identifies one table: every column through its policy (`deid_policy`),
every row id through its release's pseudonym map, every date of a person shifted or
generalised (sentinels kept, persons over 89 aggregated), k-anonymity levels applied.

Temporary tables it joins (built by `medmine.privacy.deid` and `_deid_text`):

- ``_mm_pmap(old, new, shift, refy, capped)``: eligible persons, pseudonym, date offset, the
  year ages are computed at, and whether the person is over 89 then;
- ``_mm_id_<family>(old, new)``: pseudonyms of one id family for this release;
- ``_mm_id_event(old, new)`` and ``_mm_cost_event(domain, old, new)``: polymorphic references;
- ``_mm_notes``, ``_mm_text``, ``_mm_guard``: scrubbed note text, free text and code values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from medmine.privacy.deid_policy import (
    EVENT_ID_COLUMNS,
    NULLED_NUMBERS,
    REFERENCE_VOCABULARY,
    RESTRICTED_ZIP3,
    TEXT_POLICY,
    Text,
    id_family,
)
from medmine.warehouse.schema import TableSpec
from medmine.warehouse.sql import ident, literal

#: Persons over 89: year of birth shown (reference year - 90).
CAPPED_YOB = "(pm.refy - 90)"


def id_map_table(family: str) -> str:
    """Name of the temporary pseudonym map of an id family."""
    return "_mm_id_" + family.replace(".", "_")


def person_key(spec: TableSpec) -> str | None:
    """SQL for the source person id of a row of `spec` (alias ``t``), or None."""
    if spec.person_column:
        return f"t.{ident(spec.person_column)}"
    if spec.name == "note_nlp":
        return "nn.person_id"
    return None


def sentinel_sql(sentinels: Iterable[dt.date]) -> str:
    """A parenthesised list of DATE literals."""
    return "(" + ", ".join(f"DATE {literal(d.isoformat())}" for d in sorted(sentinels)) + ")"


def zip3_sql(col: str) -> str:
    """First three digits of a ZIP, ``000`` for restricted areas, NULL if fewer digits."""
    z = f"substr(regexp_replace({col}, '[^0-9]', '', 'g'), 1, 3)"
    restricted = ", ".join(literal(z3) for z3 in sorted(RESTRICTED_ZIP3))
    return f"CASE WHEN length({z}) < 3 THEN NULL WHEN {z} IN ({restricted}) THEN '000' ELSE {z} END"


class Plan:
    """Builds the SELECT for one table.

    Parameters
    ----------
    levels
        k-anonymity generalisation levels of the person quasi-identifiers (column -> level).
    """

    def __init__(
        self,
        spec: TableSpec,
        mode: str,
        sentinels: Iterable[dt.date],
        levels: dict[str, int] | None = None,
    ) -> None:
        self.spec = spec
        self.mode = mode
        self.sentinels = sentinel_sql(sentinels)
        self.levels = levels or {}
        self.joins: list[str] = []
        self.where: list[str] = []
        self.pkey = person_key(spec)

    # ---- dates ----
    def date_expr(self, col: str, typ: str) -> str:
        """A date or timestamp of a person: generalised (Safe Harbor) or shifted (expert)."""
        c = f"t.{ident(col)}"
        if self.pkey is None:
            return c  # not a date of an individual (vocabulary validity and the like)
        sentinel = f"CAST({c} AS DATE) IN {self.sentinels}"
        if self.mode == "safe_harbor":
            d = "make_date(CASE WHEN pm.capped THEN pm.refy ELSE year(" + c + ") END, 1, 1)"
            new = d if typ == "date" else f"CAST({d} AS TIMESTAMP)"
        else:
            shifted = f"{c} + pm.shift" if typ == "date" else f"{c} + to_days(pm.shift)"
            floor = f"make_date({CAPPED_YOB}, 1, 1)"
            floor = floor if typ == "date" else f"CAST({floor} AS TIMESTAMP)"
            new = f"CASE WHEN pm.capped AND {shifted} < {floor} THEN {floor} ELSE {shifted} END"
        return f"CASE WHEN {c} IS NULL THEN NULL WHEN {sentinel} THEN {c} ELSE {new} END"

    # ---- person ----
    def person_column(self, col: str, typ: str) -> str:
        """Columns of `person`: capped and generalised birth, k-anonymity levels."""
        lv = self.levels
        if col == "year_of_birth":
            if self.mode == "expert":
                yob = "coalesce(year(t.birth_datetime + to_days(pm.shift)), t.year_of_birth)"
            else:
                yob = "t.year_of_birth"
            yob = f"CASE WHEN pm.capped THEN {CAPPED_YOB} ELSE {yob} END"
            band = (1, 5, 10, 20)[min(lv.get("year_of_birth", 0), 3)]
            return yob if band == 1 else f"(({yob}) // {band}) * {band}"
        if col in ("month_of_birth", "day_of_birth", "birth_datetime"):
            if self.mode == "safe_harbor" or lv.get("year_of_birth", 0) > 0:
                return "NULL"
            shifted = "t.birth_datetime + to_days(pm.shift)"
            val = {
                "month_of_birth": f"month({shifted})",
                "day_of_birth": f"day({shifted})",
                "birth_datetime": shifted,
            }[col]
            return f"CASE WHEN pm.capped THEN NULL ELSE {val} END"
        qi = {"gender": "sex", "race": "race", "ethnicity": "ethnicity"}
        for prefix, name in qi.items():
            level = lv.get(name, 0)
            if col == f"{prefix}_concept_id" and level:
                if name == "race" and level == 1:
                    return "CASE WHEN t.race_concept_id = 8527 THEN 8527 ELSE 0 END"
                return "0"
            if col in (f"{prefix}_source_value", f"{prefix}_source_concept_id") and level:
                return "NULL"
        return self.plain(col, typ)

    # ---- any column ----
    def column(self, col: str, typ: str) -> str:
        """SQL for one output column."""
        name = self.spec.name
        if col == self.spec.person_column:
            return "pm.new"
        if col in NULLED_NUMBERS.get(name, ()):
            return "NULL"
        if typ == "varchar":
            return self.text(col)
        if typ == "bigint" and name not in REFERENCE_VOCABULARY:
            return self.row_id(col)
        if name == "person":
            return self.person_column(col, typ)
        return self.plain(col, typ)

    def plain(self, col: str, typ: str) -> str:
        """Dates of persons transformed, everything else copied."""
        if typ in ("date", "timestamp"):
            return self.date_expr(col, typ)
        return f"t.{ident(col)}"

    def text(self, col: str) -> str:
        """A VARCHAR column through its reviewed policy."""
        name = self.spec.name
        policy = TEXT_POLICY[name][col]
        c = f"t.{ident(col)}"
        if name in REFERENCE_VOCABULARY:
            return c
        if policy is Text.NULL:
            return "NULL"
        if policy is Text.TIME:
            return "NULL" if self.mode == "safe_harbor" else c
        if policy is Text.ZIP3:
            return "NULL" if self.levels.get("zip3", 0) else zip3_sql(c)
        if col == "state" and name == "location" and self.levels.get("zip3", 0) >= 2:
            return "NULL"
        alias = ident(f"tx_{col}")
        key = literal(f"{name}.{col}")
        if policy is Text.CODE:
            self.joins.append(
                f"LEFT JOIN _mm_guard {alias} ON {alias}.k = {key} AND {alias}.old = {c}"
            )
            return f"CASE WHEN {alias}.old IS NULL THEN {c} ELSE {alias}.new END"
        if name == "note":
            self.joins.append(f"LEFT JOIN _mm_notes {alias} ON {alias}.note_id = t.note_id")
            return f"{alias}.{ident(col)}"
        pid = self.pkey or "-1"
        self.joins.append(
            f"LEFT JOIN _mm_text {alias} ON {alias}.k = {key} AND {alias}.pid = {pid} "
            f"AND {alias}.old = {c}"
        )
        return f"{alias}.new"

    def row_id(self, col: str) -> str:
        """A row id through the release's pseudonym map of its family."""
        fam = id_family(self.spec.name, col)
        if fam is None:  # unclassified: never copied (deid refuses to run before this)
            raise ValueError(f"{self.spec.name}.{col} has no id family")
        alias = ident(f"id_{col}")
        c = f"t.{ident(col)}"
        if fam == "event" and self.spec.name == "cost":
            dom = ident(EVENT_ID_COLUMNS["cost"][1])
            # inner join: a cost row whose event is not released (consent, unknown domain,
            # dangling) is left out with it
            self.joins.append(
                f"JOIN _mm_cost_event {alias} ON {alias}.domain = lower(t.{dom}) "
                f"AND {alias}.old = {c}"
            )
            return f"{alias}.new"
        if fam == "event":
            field = f"t.{ident(EVENT_ID_COLUMNS[self.spec.name][1])}"
            ef, eu = ident(f"ef_{col}"), ident(f"eu_{col}")
            self.joins += [
                f"LEFT JOIN _mm_event_field {ef} ON {ef}.field = {field}",
                f"LEFT JOIN _mm_id_event {alias} ON {alias}.tbl = {ef}.tbl AND {alias}.old = {c}",
                f"LEFT JOIN _mm_id_event_unique {eu} ON {eu}.old = {c}",
            ]
            return f"CASE WHEN {ef}.tbl IS NOT NULL THEN {alias}.new ELSE {eu}.new END"
        self.joins.append(f"LEFT JOIN {id_map_table(fam)} {alias} ON {alias}.old = {c}")
        return f"{alias}.new"

    def select(self) -> str:
        """The whole SELECT."""
        cols = [f"{self.column(c.name, c.type)} AS {ident(c.name)}" for c in self.spec.columns]
        src = f"{ident(self.spec.name)} t"
        if self.spec.person_column:
            joins = ["JOIN _mm_pmap pm ON pm.old = t." + ident(self.spec.person_column)]
        elif self.spec.name == "note_nlp":
            joins = [
                "JOIN note nn ON nn.note_id = t.note_id",
                "JOIN _mm_pmap pm ON pm.old = nn.person_id",
            ]
        else:
            joins = []
        if self.spec.name == "location":
            # only addresses of released persons and of care sites
            self.where.append(
                "(t.location_id IN (SELECT p.location_id FROM person p JOIN _mm_pmap q "
                "ON q.old = p.person_id) OR t.location_id IN (SELECT location_id FROM care_site))"
            )
        where = f" WHERE {' AND '.join(self.where)}" if self.where else ""
        return f"SELECT {', '.join(cols)} FROM {src} {' '.join(joins + self.joins)}{where}"
