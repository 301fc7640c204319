"""What a warehouse's dates can carry: its end date, year-generalised dates, implausible spans.

A time-dependent study (windows in days) needs real calendar dates: on a Safe Harbor copy whose
dates were generalised to the year, every gap is 0 or a multiple of 365 days. These checks run
inside the engine and return plain numbers for studies to act on.

>>> from medmine.warehouse import Warehouse
>>> year_generalised(Warehouse(":memory:")).generalised
False
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from medmine.features._sql import domain, int_list, table_exists
from medmine.warehouse.sql import ident

#: Domains whose start dates (and, for visits, end dates) say how far the data reach.
_EVENT_DOMAINS = ("visit", "condition", "drug", "procedure", "measurement", "observation")


def data_end_date(wh: Any, today: dt.date | None = None) -> dt.date:
    """The data's end date: the last recorded event or death, never after `today`.

    Event start dates count for every domain; visits also count their end date (a stay ends
    on discharge). Drug supply end dates do not (they are forecasts, not records). An empty
    warehouse ends today.
    """
    today = today or dt.date.today()
    parts = []
    for name in _EVENT_DOMAINS:
        d = domain(name)
        if not table_exists(wh.con, d.table):
            continue
        parts.append(f"SELECT max({ident(d.start_column)}) AS d FROM {ident(d.table)}")
        if name == "visit" and d.end_column:
            # a visit end in the future (an open stay) does not extend the data
            parts.append(
                f"SELECT max({ident(d.end_column)}) AS d FROM {ident(d.table)} "
                f"WHERE {ident(d.end_column)} <= current_date"
            )
    if table_exists(wh.con, "death"):
        parts.append("SELECT max(death_date) AS d FROM death")
    if not parts:
        return today
    got = wh.con.execute(f"SELECT max(d) FROM ({' UNION ALL '.join(parts)}) u").fetchall()[0][0]
    if got is None:
        return today
    got = got.date() if isinstance(got, dt.datetime) else got
    return min(got, today)


@dataclass(frozen=True)
class DateResolution:
    """How many visit dates fall on 1 January, and whether the dates look year-generalised."""

    visits: int
    on_january_first: int

    @property
    def share(self) -> float:
        """Share of visit start and end dates on 1 January (0 when there are none)."""
        return self.on_january_first / self.visits if self.visits else 0.0

    @property
    def generalised(self) -> bool:
        """True when at least 20 visit dates exist and 95% or more fall on 1 January.

        Real data put about 1/365 of dates on any one day (a little more on 1 January for
        imputed dates); a Safe Harbor copy generalised to the year puts them all there.
        """
        return self.visits >= 20 and self.share >= 0.95


def year_generalised(wh: Any) -> DateResolution:
    """Count visit start/end dates on 1 January (the signature of year-only dates)."""
    d = domain("visit")
    if not table_exists(wh.con, d.table):
        return DateResolution(0, 0)
    start, end = ident(d.start_column), ident(d.end_column or d.start_column)
    n, jan1 = wh.con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE month(x) = 1 AND day(x) = 1) FROM ("
        f"SELECT {start} AS x FROM {ident(d.table)} UNION ALL "
        f"SELECT {end} AS x FROM {ident(d.table)} WHERE {end} IS NOT NULL) v"
    ).fetchall()[0]
    return DateResolution(int(n), int(jan1))


def negative_durations(wh: Any, visit_concept_ids: tuple[int, ...]) -> int:
    """Visits of `visit_concept_ids` whose recorded end precedes their start."""
    d = domain("visit")
    if not table_exists(wh.con, d.table):
        return 0
    return int(
        wh.con.execute(
            f"SELECT count(*) FROM {ident(d.table)} WHERE {ident(d.end_column)} < "
            f"{ident(d.start_column)} AND {ident(d.concept_column)} IN "
            f"({int_list(visit_concept_ids)})"
        ).fetchall()[0][0]
    )
