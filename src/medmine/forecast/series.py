"""Operational series: daily admissions, ED visits, all visits and midnight bed census from
``visit_occurrence`` (computed in the engine), or one series from a CSV.

* admissions: inpatient visits (OMOP 9201 inpatient, 262 ER-and-inpatient) by start date;
* ed: emergency visits (9203, 262) by start date;
* visits: every visit by start date;
* census: inpatient stays in the hospital at midnight of day d (``start <= d < end``).

A CSV holds ``date`` and one value column (``value``, ``count`` or ``y``), daily, weekly or
monthly; values must be non-negative and every period present (gaps are refused with the
first missing date).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medmine.errors import ConfigError, SourceError
from medmine.surveillance.series import SeriesError, detect_frequency

#: Series kind -> (visit concept ids, what it counts).
KINDS = {
    "admissions": ((9201, 262), "inpatient admissions per day"),
    "ed": ((9203, 262), "emergency department visits per day"),
    "visits": ((), "visits of any type per day"),
    "census": ((9201, 262), "inpatients in hospital at midnight"),
}
#: Seasonal period used for each frequency (weekly cycle of daily data; yearly otherwise).
SEASON = {"daily": 7, "weekly": 52, "monthly": 12}


@dataclass
class Series:
    """One regular series: dates, values, frequency, seasonal period and what it counts."""

    dates: pd.DatetimeIndex
    values: np.ndarray
    freq: str
    name: str = "series"

    @property
    def season(self) -> int:
        """Seasonal period (7 for daily data, 52 weekly, 12 monthly)."""
        return SEASON[self.freq]

    def future_dates(self, h: int) -> pd.DatetimeIndex:
        """The `h` dates after the last one."""
        off = {"daily": pd.Timedelta(days=1), "weekly": pd.Timedelta(days=7)}.get(self.freq)
        if off is None:
            return pd.date_range(self.dates[-1] + pd.offsets.MonthBegin(1), periods=h, freq="MS")
        return pd.DatetimeIndex([self.dates[-1] + off * (i + 1) for i in range(h)])


def warehouse_series(
    wh: Any,
    kind: str,
    *,
    start: str | None = None,
    end: str | None = None,
    persons_sql: str | None = None,
) -> Series:
    """Daily series `kind` (see `KINDS`) between `start` and `end` (default: the data's span)."""
    if kind not in KINDS:
        raise ConfigError(f"unknown series {kind!r}; choose one of: {', '.join(KINDS)}")
    concepts, what = KINDS[kind]
    where, params = ["1=1"], []
    if concepts:
        where.append(f"visit_concept_id IN ({', '.join('?' * len(concepts))})")
        params += list(concepts)
    if persons_sql:
        where.append(f"person_id IN ({persons_sql})")
    v = (
        "SELECT visit_start_date AS s, visit_end_date AS e FROM visit_occurrence "
        f"WHERE {' AND '.join(where)}"
    )
    lo, hi = wh.con.execute(f"SELECT min(s), max(s) FROM ({v})", params).fetchone()
    if lo is None:
        raise ConfigError(f"the warehouse holds no visits for series {kind!r} ({what})")
    lo = pd.Timestamp(start) if start else pd.Timestamp(lo)
    hi = pd.Timestamp(end) if end else pd.Timestamp(hi)
    if hi < lo:
        raise ConfigError(f"end {hi.date()} is before start {lo.date()}")
    if kind == "census":
        sql = f"""
            SELECT d.d AS date, count(v.s) AS value
            FROM generate_series(CAST(? AS DATE), CAST(? AS DATE), INTERVAL 1 DAY) AS d(d)
            LEFT JOIN ({v}) v ON v.s <= d.d AND v.e > d.d
            GROUP BY d.d ORDER BY d.d
        """
    else:
        sql = f"""
            SELECT d.d AS date, count(v.s) AS value
            FROM generate_series(CAST(? AS DATE), CAST(? AS DATE), INTERVAL 1 DAY) AS d(d)
            LEFT JOIN ({v}) v ON v.s = d.d
            GROUP BY d.d ORDER BY d.d
        """
    df = wh.con.execute(sql, [lo.date(), hi.date(), *params]).df()
    return Series(
        pd.DatetimeIndex(pd.to_datetime(df["date"])), df["value"].to_numpy(float), "daily", kind
    )


def to_weekly(s: Series) -> Series:
    """Sum a daily series into Monday-starting weeks (mean for census), whole weeks only."""
    if s.freq != "daily":
        raise ConfigError("only a daily series can be aggregated to weeks")
    df = pd.DataFrame({"v": s.values}, index=s.dates)
    agg = "mean" if s.name == "census" else "sum"
    w = df.resample("W-MON", label="left", closed="left")["v"].agg([agg, "size"])
    w = w[w["size"] == 7]
    return Series(pd.DatetimeIndex(w.index), w[agg].to_numpy(float), "weekly", s.name)


def read_series_csv(path: str | Path) -> Series:
    """Read ``date`` plus one value column from a CSV into a checked `Series`."""
    p = Path(path)
    try:
        df = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SourceError(
            str(p),
            f"not a readable CSV ({type(exc).__name__})",
            "expected columns date and value (or count)",
        ) from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    col = next((c for c in ("value", "count", "y") if c in df.columns), None)
    if "date" not in df.columns or col is None:
        raise SeriesError(
            f"{p.name}: expected columns date and value (or count); got {list(df.columns)}"
        )
    dates = pd.to_datetime(df["date"], errors="coerce", format="mixed")
    vals = pd.to_numeric(df[col], errors="coerce")
    for mask, why in (
        (dates.isna(), "date is not a date (YYYY-MM-DD)"),
        (vals.isna(), f"{col} is missing or not a number"),
        (vals < 0, f"{col} is negative"),
    ):
        if mask.fillna(False).any():
            raise SeriesError(
                f"{p.name} line {int(np.flatnonzero(mask.fillna(False))[0]) + 2}: {why}"
            )
    order = np.argsort(dates.values, kind="stable")
    dates, vals = pd.DatetimeIndex(dates.values[order]), vals.to_numpy(float)[order]
    if dates.has_duplicates:
        raise SeriesError(f"{p.name}: date {dates[dates.duplicated()][0].date()} appears twice")
    freq = detect_frequency(dates, p.name)
    if freq == "monthly":
        dates = dates.to_period("M").to_timestamp()
        full = pd.date_range(dates[0], dates[-1], freq="MS")
    else:
        full = pd.date_range(dates[0], dates[-1], freq="D" if freq == "daily" else "7D")
    missing = full.difference(dates)
    extra = dates.difference(full)
    if len(extra):
        raise SeriesError(f"{p.name}: date {extra[0].date()} is off the {freq} grid")
    if len(missing):
        raise SeriesError(
            f"{p.name}: {len(missing)} {freq} period(s) missing, first {missing[0].date()}; "
            "give every period a row (0 when nothing happened)"
        )
    return Series(full, vals, freq, p.stem)
