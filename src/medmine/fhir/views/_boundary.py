"""SQL for FHIRPath ``lowBoundary()`` and ``highBoundary()`` of one JSON value.

The type comes from ``ofType(T)`` when the path names it; otherwise from the value: a JSON
number is a decimal, ``hh:mm...`` a time, text with ``T`` a dateTime, other text a date. A
dateTime known only to the day without ``ofType(dateTime)`` is therefore taken as a date.
"""

from __future__ import annotations

_NUMERIC = "('BIGINT', 'UBIGINT', 'DOUBLE')"


def _decimal(x: str, high: bool) -> str:
    t = f"CAST({x} AS VARCHAR)"
    digits = f"(CASE WHEN contains({t}, '.') THEN length(split_part({t}, '.', 2)) ELSE 0 END)"
    sign = "+" if high else "-"
    places = f"CAST({digits} + 1 AS INTEGER)"
    return f"to_json(round(CAST({t} AS DOUBLE) {sign} 0.5 * pow(10, -{digits}), {places}))"


def _date(d: str, high: bool) -> str:
    if high:
        month_end = f"strftime(last_day(CAST({d} || '-01' AS DATE)), '%Y-%m-%d')"
        return (
            f"(CASE length({d}) WHEN 4 THEN {d} || '-12-31' WHEN 7 THEN {month_end} ELSE {d} END)"
        )
    return f"(CASE length({d}) WHEN 4 THEN {d} || '-01-01' WHEN 7 THEN {d} || '-01' ELSE {d} END)"


def _time(t: str, high: bool) -> str:
    fill, top = ("9", "59") if high else ("0", "00")
    mm = f"coalesce(nullif(substr({t}, 4, 2), ''), '{top}')"
    ss = f"coalesce(nullif(substr({t}, 7, 2), ''), '{top}')"
    frac = f"rpad(regexp_extract({t}, '\\.([0-9]+)', 1), 3, '{fill}')"
    return f"(substr({t}, 1, 2) || ':' || {mm} || ':' || {ss} || '.' || {frac})"


def _datetime(s: str, high: bool) -> str:
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
    return f"({_date(date_part, high)} || 'T' || {time_sql} || {zone})"


def boundary(x: str, type_name: str | None, high: bool) -> str:
    """SQL (a JSON value or NULL) for the boundary of the JSON value ``x``."""
    s = f"({x} ->> '$')"
    by_type = {
        "decimal": _decimal(x, high),
        "integer": _decimal(x, high),
        "date": f"to_json({_date(s, high)})",
        "dateTime": f"to_json({_datetime(s, high)})",
        "instant": f"to_json({_datetime(s, high)})",
        "time": f"to_json({_time(s, high)})",
    }
    if type_name in by_type:
        return by_type[type_name]
    return (
        f"(CASE WHEN json_type({x}) IN {_NUMERIC} THEN {_decimal(x, high)} "
        f"WHEN json_type({x}) <> 'VARCHAR' THEN NULL "
        f"WHEN regexp_matches({s}, '^[0-9][0-9]:') THEN to_json({_time(s, high)}) "
        f"WHEN contains({s}, 'T') THEN to_json({_datetime(s, high)}) "
        f"ELSE to_json({_date(s, high)}) END)"
    )
