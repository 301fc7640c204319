"""SQL building blocks shared by cohorts and covariates: domains, concept sets, day arithmetic.

Everything here returns DuckDB SQL text restricted to constructs SQLGlot transpiles to Spark
(``CAST(x + INTERVAL 'n' DAY AS DATE)``, ``DATE_DIFF('day', a, b)``, window functions, no
``QUALIFY``). Day offsets are always integer literals taken from a definition, never user text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from medmine.errors import ConfigError


@dataclass(frozen=True)
class Domain:
    """Where the events of one OMOP domain live."""

    name: str
    table: str
    id_col: str
    concept_col: str
    date_col: str
    end_col: str | None


#: Event domains, by the name used in concept sets and covariate settings.
DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        Domain(
            "condition",
            "condition_occurrence",
            "condition_occurrence_id",
            "condition_concept_id",
            "condition_start_date",
            "condition_end_date",
        ),
        Domain(
            "drug",
            "drug_exposure",
            "drug_exposure_id",
            "drug_concept_id",
            "drug_exposure_start_date",
            "drug_exposure_end_date",
        ),
        Domain(
            "procedure",
            "procedure_occurrence",
            "procedure_occurrence_id",
            "procedure_concept_id",
            "procedure_date",
            "procedure_end_date",
        ),
        Domain(
            "measurement",
            "measurement",
            "measurement_id",
            "measurement_concept_id",
            "measurement_date",
            None,
        ),
        Domain(
            "observation",
            "observation",
            "observation_id",
            "observation_concept_id",
            "observation_date",
            None,
        ),
        Domain(
            "device",
            "device_exposure",
            "device_exposure_id",
            "device_concept_id",
            "device_exposure_start_date",
            "device_exposure_end_date",
        ),
        Domain(
            "visit",
            "visit_occurrence",
            "visit_occurrence_id",
            "visit_concept_id",
            "visit_start_date",
            "visit_end_date",
        ),
    )
}


def domain(name: str) -> Domain:
    """Return the `Domain` called `name`, or raise `ConfigError` naming the known ones."""
    try:
        return DOMAINS[name]
    except KeyError:
        raise ConfigError(f"unknown event domain {name!r}; use one of {sorted(DOMAINS)}") from None


def plus_days(expr: str, days: int) -> str:
    """``expr + days`` as a DATE (``days`` is an integer literal)."""
    return f"CAST({expr} + INTERVAL '{int(days)}' DAY AS DATE)"


def days_between(start: str, end: str) -> str:
    """Whole days from `start` to `end` (positive when `end` is later)."""
    return f"DATE_DIFF('day', {start}, {end})"


def int_list(values: Iterable[int]) -> str:
    """A comma-separated list of integer literals (validated as integers)."""
    vals = [int(v) for v in values]
    if not vals:
        raise ConfigError("a concept set needs at least one concept id")
    return ", ".join(str(v) for v in vals)


def values_table(values: Iterable[int], column: str = "concept_id") -> str:
    """A one-column inline table of integer literals."""
    rows = ", ".join(f"({v})" for v in (int(x) for x in values))
    return f"(SELECT * FROM (VALUES {rows}) AS _v({column}))"


def temp_name(prefix: str) -> str:
    """A fresh temporary table name, unique per call (several builds may share a connection)."""
    return f"_mm_{prefix}_{uuid.uuid4().hex[:10]}"


def table_exists(con, name: str) -> bool:
    """True when table `name` exists in the main schema."""
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(row[0])
