"""SQL for FHIRPath ``lowBoundary()`` and ``highBoundary()`` of one JSON value.

The type comes from ``ofType(T)`` when the path names it; otherwise from the value: a JSON
number is a decimal, ``hh:mm...`` a time, text with ``T`` a dateTime, other text a date. A
dateTime known only to the day without ``ofType(dateTime)`` is therefore taken as a date.
"""

from __future__ import annotations

from medmine.fhir.views._dialect import DuckDB


def _decimal(d: DuckDB, x: str, high: bool) -> str:
    if d.name == "spark":
        # parse_json keeps 1.0 as 1: the precision the boundary depends on is gone.
        msg = "the boundary of a decimal needs its written precision, which the Spark VARIANT drops"
        return d.error(f"'{msg}'")
    t = d.text(x)
    digits = f"(CASE WHEN contains({t}, '.') THEN length(split_part({t}, '.', 2)) ELSE 0 END)"
    sign = "+" if high else "-"
    places = f"CAST({digits} + 1 AS INTEGER)"
    return d.to_json(d.round(f"CAST({t} AS DOUBLE) {sign} 0.5 * pow(10, -{digits})", places))


def _date(dia: DuckDB, d: str, high: bool) -> str:
    if high:
        month_end = dia.month_end(d)
        return (
            f"(CASE length({d}) WHEN 4 THEN {d} || '-12-31' WHEN 7 THEN {month_end} ELSE {d} END)"
        )
    return f"(CASE length({d}) WHEN 4 THEN {d} || '-01-01' WHEN 7 THEN {d} || '-01' ELSE {d} END)"


def _time(t: str, high: bool) -> str:
    fill, top = ("9", "59") if high else ("0", "00")
    mm = f"coalesce(nullif(substr({t}, 4, 2), ''), '{top}')"
    ss = f"coalesce(nullif(substr({t}, 7, 2), ''), '{top}')"
    frac = f"rpad(regexp_extract({t}, '[.]([0-9]+)', 1), 3, '{fill}')"
    return f"(substr({t}, 1, 2) || ':' || {mm} || ':' || {ss} || '.' || {frac})"


def _datetime(dia: DuckDB, s: str, high: bool) -> str:
    date_part = f"split_part({s}, 'T', 1)"
    rest = f"split_part({s}, 'T', 2)"
    tz = f"regexp_extract({rest}, '(Z|[+-][0-9][0-9]:[0-9][0-9])$', 1)"
    clock = f"regexp_replace({rest}, '(Z|[+-][0-9][0-9]:[0-9][0-9])$', '')"
    default_tz = "-12:00" if high else "+14:00"
    time_sql = (
        f"(CASE WHEN {clock} = '' THEN '{'23:59:59.999' if high else '00:00:00.000'}' "
        f"ELSE {_time(clock, high)} END)"
    )
    zone = f"coalesce(nullif({tz}, ''), '{default_tz}')"
    return f"({_date(dia, date_part, high)} || 'T' || {time_sql} || {zone})"


def boundary(d: DuckDB, x: str, type_name: str | None, high: bool) -> str:
    """SQL (a JSON value or NULL) for the boundary of the JSON value ``x``."""
    s = d.text(x)
    by_type = {
        "decimal": _decimal(d, x, high),
        "integer": _decimal(d, x, high),
        "date": d.to_json(_date(d, s, high)),
        "dateTime": d.to_json(_datetime(d, s, high)),
        "instant": d.to_json(_datetime(d, s, high)),
        "time": d.to_json(_time(s, high)),
    }
    if type_name in by_type:
        return by_type[type_name]
    return (
        f"(CASE WHEN {d.kind_is(x, 'number')} THEN {_decimal(d, x, high)} "
        f"WHEN NOT ({d.kind_is(x, 'string')}) THEN NULL "
        f"WHEN {d.matches(s, '^[0-9]{2}:[0-9]{2}')} THEN {d.to_json(_time(s, high))} "
        f"WHEN {d.matches(s, '^[0-9]{4}-[0-9]{2}-[0-9]{2}T')} "
        f"THEN {d.to_json(_datetime(d, s, high))} "
        f"WHEN {d.matches(s, '^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$')} "
        f"THEN {d.to_json(_date(d, s, high))} "
        "ELSE NULL END)"
    )
