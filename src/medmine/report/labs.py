"""Lab values with their units, for pages that show them (profile, scoring).

A number without its unit cannot be read: 142 is a normal sodium in mmol/L and nothing in
mg/dL. These helpers read, from ``measurement`` and the ``concept`` table when present, the
unit each test is recorded in.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from medmine.warehouse.sql import ident

#: Covariate names of last lab values: ``lab_last:<concept id> <name> [window]``.
LAB_COVARIATE = re.compile(r"^lab_last:(\d+)\b")


def lab_rows(wh: Any, top: int = 25) -> list[dict[str, Any]]:
    """The most frequent numeric lab tests with their unit: rows, persons, median and range.

    One row per test (concept, else source code) and unit, named by the concept table when
    it has the concept. Only aggregates over many persons (at least 5) are shown.
    """
    has_concept = _has_concepts(wh)
    name = (
        "coalesce(c.concept_name, m.measurement_source_value)"
        if has_concept
        else ("m.measurement_source_value")
    )
    join = "LEFT JOIN concept c ON c.concept_id = m.measurement_concept_id " if has_concept else ""
    unit = (
        "coalesce(nullif(m.unit_source_value, ''), u.concept_name)"
        if has_concept
        else "m.unit_source_value"
    )
    ujoin = "LEFT JOIN concept u ON u.concept_id = m.unit_concept_id " if has_concept else ""
    sql = f"""
        SELECT {name} AS test, {unit} AS unit, count(*) AS rows,
               count(DISTINCT m.person_id) AS persons,
               quantile_cont(m.value_as_number, 0.5) AS median,
               quantile_cont(m.value_as_number, 0.05) AS p5,
               quantile_cont(m.value_as_number, 0.95) AS p95
        FROM {ident("measurement")} m {join}{ujoin}
        WHERE m.value_as_number IS NOT NULL
        GROUP BY 1, 2 HAVING count(DISTINCT m.person_id) >= 5
        ORDER BY rows DESC, test LIMIT {int(top)}
    """  # fmt: skip
    try:
        rows = wh.con.execute(sql).fetchall()
    except duckdb.Error:  # a warehouse without measurement or concept tables
        return []
    out = []
    for test, u, n, persons, med, p5, p95 in rows:
        out.append(
            {"test": test, "unit": u or "(no unit)", "rows": n, "persons": persons,
             "median": med, "5th percentile": p5, "95th percentile": p95}
        )  # fmt: skip
    return out


def lab_units(wh: Any) -> dict[int, str]:
    """Measurement concept id -> its most frequent unit (source unit, else unit concept)."""
    has_concept = _has_concepts(wh)
    unit = (
        "coalesce(nullif(m.unit_source_value, ''), u.concept_name)"
        if has_concept
        else "nullif(m.unit_source_value, '')"
    )
    ujoin = "LEFT JOIN concept u ON u.concept_id = m.unit_concept_id " if has_concept else ""
    try:
        rows = wh.con.execute(
            f"SELECT m.measurement_concept_id, mode({unit}) FROM {ident('measurement')} m "
            f"{ujoin}WHERE m.value_as_number IS NOT NULL AND m.measurement_concept_id <> 0 "
            "GROUP BY 1"
        ).fetchall()
    except duckdb.Error:
        return {}
    return {int(c): str(u) for c, u in rows if u}


def covariate_unit(name: str, units: dict[int, str]) -> str:
    """The unit of a covariate's value: the test's unit for ``lab_last``, else empty."""
    m = LAB_COVARIATE.match(str(name))
    return units.get(int(m.group(1)), "unit not recorded") if m else ""


def _has_concepts(wh: Any) -> bool:
    try:
        return bool(wh.count("concept"))
    except duckdb.Error:
        return False
