"""SQL building blocks shared by cohorts and covariates: domain lookup, day arithmetic, names.

Everything here returns DuckDB SQL text restricted to constructs SQLGlot transpiles to Spark
(``CAST(x + INTERVAL 'n' DAY AS DATE)``, ``DATE_DIFF('day', a, b)``, window functions, no
``QUALIFY``). Day offsets are always integer literals taken from a definition, never user text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from medmine.errors import ConfigError
from medmine.warehouse import schema
from medmine.warehouse.schema import EventDomain


def domain(name: str) -> EventDomain:
    """The event domain called `name` (declared on the warehouse table specs).

    Raises
    ------
    ConfigError
        If no warehouse table declares that domain (the message lists the known ones).
    """
    try:
        return schema.domain(name)
    except KeyError:
        raise ConfigError(
            f"unknown event domain {name!r}; use one of {sorted(schema.DOMAINS)}"
        ) from None


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
