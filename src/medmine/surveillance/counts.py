"""Syndromic counts from the warehouse: persons with a syndrome event per period, by area
(state, ZIP3 or county of the person's location) and age band, computed in the engine.

A person counts once per period, area and age band however many matching rows they have
(several codes of one visit are one case). Events come from conditions, observations, visits
and affirmed concept mentions in notes (``note_nlp`` with ``term_exists = 'Y'``). Codes and
concept ids reach SQL as bound parameters; column names come from fixed tables below, never
from outside text. Consent is applied by the caller (a study), which passes the consent
module's person-id subquery.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from medmine.errors import ConfigError
from medmine.surveillance.series import PERIODS_PER_YEAR, CountTable, from_frame
from medmine.surveillance.syndromes import ConceptSet, Syndrome

#: Domain -> (table, date column, concept column, source value column).
DOMAIN_TABLES = {
    "conditions": (
        "condition_occurrence",
        "condition_start_date",
        "condition_concept_id",
        "condition_source_value",
    ),
    "observations": (
        "observation",
        "observation_date",
        "observation_concept_id",
        "observation_source_value",
    ),
    "visits": ("visit_occurrence", "visit_start_date", "visit_concept_id", "visit_source_value"),
}
#: Area level -> SQL expression over the location alias ``l``.
AREA_LEVELS = {
    "state": "coalesce(nullif(trim(l.state), ''), 'unknown')",
    "zip3": "coalesce(nullif(substr(trim(l.zip), 1, 3), ''), 'unknown')",
    "county": "coalesce(nullif(trim(l.county), ''), 'unknown')",
    "none": "'all'",
}
_TRUNC = {"daily": "day", "weekly": "week", "monthly": "month"}
#: CDC ILINet age groups (lower edges, years).
DEFAULT_AGE_BANDS = (0, 5, 25, 50, 65)


def _match(cs: ConceptSet, concept_col: str, source_col: str | None) -> tuple[str, list[Any]]:
    """SQL predicate (with ``?`` parameters) selecting rows of concept set `cs`.

    Without a source column (note mentions) only concept ids and codes resolved through
    the ``concept`` table select rows.
    """
    parts: list[str] = []
    params: list[Any] = []
    if cs.concept_ids:
        parts.append(f"{concept_col} IN ({', '.join('?' * len(cs.concept_ids))})")
        params += [int(i) for i in cs.concept_ids]
    code = f"regexp_replace(coalesce({source_col}, ''), '^[^:]*:', '')" if source_col else ""
    for vocab, codes in cs.codes.items():
        for c in codes:
            prefix = c.endswith("*")
            value = c[:-1] + "%" if prefix else c
            op = "LIKE" if prefix else "="
            if code:
                parts.append(f"{code} {op} ?")
                params.append(value)
            parts.append(
                f"{concept_col} IN (SELECT concept_id FROM concept WHERE vocabulary_id = ? "
                f"AND concept_code {op} ? AND concept_id <> 0)"
            )
            params += [vocab, value]
    return "(" + " OR ".join(parts) + ")", params


def _age_case(bands: tuple[int, ...]) -> str:
    edges = sorted({int(b) for b in bands})
    if not edges or edges[0] != 0:
        raise ConfigError(f"age bands must start at 0; got {bands}")
    whens = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        whens.append(f"WHEN age < {hi} THEN '{lo}-{hi - 1}'")
    return (
        f"CASE WHEN age IS NULL OR age < 0 THEN 'unknown' {' '.join(whens)} ELSE '{edges[-1]}+' END"
    )


def syndromic_counts(
    wh: Any,
    syndrome: Syndrome,
    *,
    freq: str = "weekly",
    area: str = "state",
    age_bands: tuple[int, ...] | None = DEFAULT_AGE_BANDS,
    start: str | None = None,
    end: str | None = None,
    persons_sql: str | None = None,
) -> pd.DataFrame:
    """Long frame ``date, area, age_band, count`` of persons with `syndrome` per period.

    Parameters
    ----------
    freq
        ``daily``, ``weekly`` (ISO weeks, starting Monday) or ``monthly``.
    area
        ``state``, ``zip3``, ``county`` or ``none`` (one area ``all``).
    age_bands
        Lower edges of the age bands in years (None: one band ``all``).
    start, end
        ISO dates bounding the events (inclusive).
    persons_sql
        Subquery of eligible ``person_id`` (from the consent module), or None for everyone.
    """
    if freq not in _TRUNC:
        raise ConfigError(f"freq must be one of {list(_TRUNC)}; got {freq!r}")
    if area not in AREA_LEVELS:
        raise ConfigError(f"area must be one of {list(AREA_LEVELS)}; got {area!r}")
    selects: list[str] = []
    params: list[Any] = []
    for domain, (table, date_col, concept_col, source_col) in DOMAIN_TABLES.items():
        cs: ConceptSet = getattr(syndrome, domain)
        if cs.empty:
            continue
        pred, p = _match(cs, concept_col, source_col)
        selects.append(f"SELECT person_id, {date_col} AS d FROM {table} WHERE {pred}")
        params += p
    if not syndrome.notes.empty:
        # affirmed mentions only: term_exists 'Y' (OMOP: not negated, not hypothetical,
        # about the patient); a missing flag counts as affirmed, as NLP writers omit it
        pred, p = _match(syndrome.notes, "x.note_nlp_concept_id", None)
        selects.append(
            "SELECT n.person_id, n.note_date AS d FROM note_nlp x "
            "JOIN note n ON n.note_id = x.note_id "
            f"WHERE {pred} AND upper(coalesce(x.term_exists, 'Y')) = 'Y'"
        )
        params += p
    if not selects:
        raise ConfigError(f"syndrome {syndrome.name!r} selects nothing")
    where = []
    if start:
        where.append("e.d >= CAST(? AS DATE)")
        params.append(start)
    if end:
        where.append("e.d <= CAST(? AS DATE)")
        params.append(end)
    if persons_sql:
        where.append(f"e.person_id IN ({persons_sql})")
    age = _age_case(tuple(age_bands)) if age_bands else "'all'"
    sql = f"""
        WITH e AS ({" UNION ".join(selects)}),
        x AS (
            SELECT CAST(date_trunc('{_TRUNC[freq]}', e.d) AS DATE) AS date,
                   {AREA_LEVELS[area]} AS area,
                   year(e.d) - p.year_of_birth AS age, e.person_id
            FROM e JOIN person p ON p.person_id = e.person_id
            LEFT JOIN location l ON l.location_id = p.location_id
            {"WHERE " + " AND ".join(where) if where else ""}
        )
        SELECT date, area, {age} AS age_band, count(DISTINCT person_id) AS count
        FROM x GROUP BY ALL ORDER BY date, area, age_band
    """
    df = wh.con.execute(sql, params).df()
    df["date"] = pd.to_datetime(df["date"])
    df["count"] = df["count"].astype(int)
    return df


def counts_table(
    counts: pd.DataFrame,
    *,
    freq: str = "weekly",
    by_age: bool = False,
    start: str | None = None,
    end: str | None = None,
    source: str = "warehouse",
) -> CountTable:
    """A `CountTable` (areas, or area x age band) with every period from start to end.

    Periods without events are zeros (the warehouse records every event it holds).
    """
    if freq not in PERIODS_PER_YEAR:
        raise ConfigError(f"freq must be one of {list(PERIODS_PER_YEAR)}; got {freq!r}")
    df = counts.copy()
    df["key"] = df["area"] + (" / " + df["age_band"] if by_age else "")
    g = df.groupby(["key", "date"], as_index=False)["count"].sum()
    if g.empty:
        raise ConfigError(f"{source}: no events match the syndrome in the chosen period")
    offset = {"daily": "D", "weekly": "W-MON", "monthly": "MS"}[freq]
    lo = pd.Timestamp(start) if start else g["date"].min()
    hi = pd.Timestamp(end) if end else g["date"].max()
    cal = pd.date_range(lo, hi, freq=offset)
    if freq == "weekly":
        cal = pd.date_range(lo - pd.Timedelta(days=lo.weekday()), hi, freq="7D")
    elif freq == "monthly":
        cal = pd.date_range(lo.to_period("M").to_timestamp(), hi, freq="MS")
    keys = sorted(g["key"].unique())
    full = pd.MultiIndex.from_product([keys, cal], names=["key", "date"])
    g = g.set_index(["key", "date"]).reindex(full, fill_value=0).reset_index()
    g = g.rename(columns={"key": "area"})
    table = from_frame(g, source=source)
    table.counts = np.asarray(table.counts, dtype=float)
    return table
