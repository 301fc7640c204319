"""Count series as one table (areas x periods on one calendar): read from a CSV or a frame,
frequency detected from the dates, and checked (gaps, negative or non-integer counts).

A CSV has columns ``date,count`` and optionally ``area``. Dates are ISO (``2024-01-08``) or
months (``2024-01``). The frequency is daily, weekly or monthly, detected from the spacing
of the dates. A period missing inside a series is an error naming where it is, unless
``fill_gaps=True`` (documented fallback: a missing period counts 0, and the table records
how many were filled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from medmine.errors import MedmineError, SourceError

#: Periods per year by frequency: the seasonal period of the detectors.
PERIODS_PER_YEAR = {"daily": 365, "weekly": 52, "monthly": 12}
_OFFSETS = {"daily": "D", "weekly": "7D", "monthly": "MS"}


class SeriesError(MedmineError):
    """A count series is unusable as given (the message says where and what to do)."""


@dataclass
class CountTable:
    """Counts of several areas on one calendar.

    Attributes
    ----------
    dates
        Period start dates, ascending, regular at `freq`.
    areas
        Area labels (``"all"`` when the input had none).
    counts
        ``(n_areas, n_periods)`` float array of counts.
    freq
        ``"daily"``, ``"weekly"`` or ``"monthly"``.
    filled
        Periods filled with 0 per area (only with ``fill_gaps=True``).
    """

    dates: pd.DatetimeIndex
    areas: list[str]
    counts: np.ndarray
    freq: str
    filled: dict[str, int] = field(default_factory=dict)
    source: str = ""

    @property
    def period(self) -> int:
        """Periods per year (the seasonal period)."""
        return PERIODS_PER_YEAR[self.freq]

    def to_frame(self) -> pd.DataFrame:
        """Long frame with columns date, area, count."""
        return pd.DataFrame(
            {
                "date": np.tile(self.dates.values, len(self.areas)),
                "area": np.repeat(self.areas, len(self.dates)),
                "count": self.counts.ravel(),
            }
        )


def detect_frequency(dates: pd.DatetimeIndex, where: str = "series") -> str:
    """``daily``, ``weekly`` or ``monthly`` from the most common spacing of sorted `dates`.

    >>> detect_frequency(pd.DatetimeIndex(["2024-01-01", "2024-01-08", "2024-01-15"]))
    'weekly'
    """
    if len(dates) < 2:
        raise SeriesError(f"{where}: needs at least 2 dates to tell the frequency")
    d = pd.Series(np.diff(dates.values).astype("timedelta64[D]").astype(int))
    step = int(d.mode().iloc[0])
    if step == 1:
        return "daily"
    if step == 7:
        return "weekly"
    if 28 <= step <= 31:
        return "monthly"
    raise SeriesError(
        f"{where}: dates are {step} days apart; expected daily, weekly (7 days) or monthly "
        "spacing. Aggregate the counts to one of those first."
    )


def from_frame(
    df: pd.DataFrame, *, source: str = "counts", fill_gaps: bool = False, line_offset: int = 2
) -> CountTable:
    """Check a frame with columns date, count[, area] and return its `CountTable`.

    `line_offset` converts a row position into a file line (header + 1-based) in messages.
    """
    missing = {"date", "count"} - set(df.columns)
    if missing:
        raise SeriesError(
            f"{source}: missing column(s) {sorted(missing)}; expected date,count and "
            f"optionally area (got {list(df.columns)})"
        )
    df = df.reset_index(drop=True)
    dates = pd.to_datetime(df["date"], errors="coerce", format="mixed")
    bad = dates.isna()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SeriesError(f"{source} line {i + line_offset}: date is not a date (YYYY-MM-DD)")
    counts = pd.to_numeric(df["count"], errors="coerce")
    for mask, why in (
        (counts.isna(), "count is missing or not a number"),
        (counts < 0, "count is negative; counts are >= 0"),
        ((counts % 1) != 0, "count is not a whole number"),
    ):
        if mask.fillna(False).any():
            i = int(np.flatnonzero(mask.fillna(False))[0])
            raise SeriesError(f"{source} line {i + line_offset}: {why}")
    area = df["area"].astype(str) if "area" in df.columns else pd.Series("all", index=df.index)
    frame = pd.DataFrame({"date": dates, "area": area, "count": counts.astype(float)})
    dup = frame.duplicated(["area", "date"])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise SeriesError(
            f"{source} line {i + line_offset}: a second count for the same area and date; "
            "sum the rows first"
        )
    freq = detect_frequency(pd.DatetimeIndex(sorted(frame["date"].unique())), source)
    if freq == "monthly":
        frame["date"] = frame["date"].dt.to_period("M").dt.to_timestamp()
    lo, hi = frame["date"].min(), frame["date"].max()
    calendar = pd.date_range(lo, hi, freq=_OFFSETS[freq])
    if freq != "monthly" and len(calendar) and calendar[-1] != hi:
        raise SeriesError(f"{source}: dates are not on a regular {freq} grid from {lo.date()}")
    areas = sorted(frame["area"].unique())
    wide = frame.pivot(index="date", columns="area", values="count")
    off_grid = wide.index.difference(calendar)
    if len(off_grid):
        raise SeriesError(
            f"{source}: date {off_grid[0].date()} is off the {freq} grid starting {lo.date()}"
        )
    wide = wide.reindex(index=calendar, columns=areas)
    filled: dict[str, int] = {}
    gaps = wide.isna()
    if gaps.to_numpy().any():
        if not fill_gaps:
            col = gaps.any().idxmax()
            first = gaps[col].idxmax()
            n = int(gaps.to_numpy().sum())
            raise SeriesError(
                f"{source}: {n} period(s) missing, first {first.date()} for area {col!r}; "
                "give every period a row (0 when nothing was counted) or pass --fill-gaps "
                "to count missing periods as 0"
            )
        filled = {a: int(gaps[a].sum()) for a in areas if gaps[a].any()}
        wide = wide.fillna(0.0)
    return CountTable(
        pd.DatetimeIndex(calendar),
        [str(a) for a in areas],
        wide.to_numpy().T.astype(float),
        freq,
        filled,
        source,
    )


def read_counts_csv(path: str | Path, *, fill_gaps: bool = False) -> CountTable:
    """Read ``date,count[,area]`` from a CSV file into a checked `CountTable`."""
    p = Path(path)
    try:
        df = pd.read_csv(p, dtype={"area": str})
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SourceError(
            str(p),
            f"not a readable CSV ({type(exc).__name__})",
            "expected columns date,count and optionally area",
        ) from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    return from_frame(df, source=p.name, fill_gaps=fill_gaps)
