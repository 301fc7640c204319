"""Run one detector over every area of a `CountTable`: the baseline is the first periods the
method needs, every later period is monitored prospectively; BH across areas per period;
warnings where a series is too sparse or short for the method to be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from medmine.surveillance._base import SeriesTooShortError
from medmine.surveillance.detectors import make_detector
from medmine.surveillance.fdr import bh_qvalues
from medmine.surveillance.series import CountTable

#: Below this mean count per period a series is too sparse for confident alarms.
SPARSE_MEAN = 1.0
#: Above this share of zero periods a series is too sparse as well.
SPARSE_ZEROS = 0.5


@dataclass
class MonitorResult:
    """Per area and period: count, expected, threshold, alarm, score, p and q values.

    ``frame`` columns: date, area, count, expected, threshold, alarm, score, pvalue,
    qvalue, alarm_fdr, status (``baseline`` or ``monitored``). ``warnings`` name the areas
    whose alarms should not be trusted and why; ``sparse_areas`` lists them.
    """

    method: str
    freq: str
    baseline_periods: int
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    sparse_areas: list[str] = field(default_factory=list)

    @property
    def n_alarms(self) -> int:
        """Alarms raised in monitored periods."""
        return int(self.frame["alarm"].sum())


def data_warnings(
    table: CountTable, baseline_periods: int, method: str
) -> tuple[list[str], list[str]]:
    """Warnings about sparse or short series, and the sparse areas."""
    warnings: list[str] = []
    sparse: list[str] = []
    base = table.counts[:, :baseline_periods]
    for i, area in enumerate(table.areas):
        mean, zeros = float(base[i].mean()), float((base[i] == 0).mean())
        if mean < SPARSE_MEAN or zeros > SPARSE_ZEROS:
            sparse.append(area)
            warnings.append(
                f"area {area}: baseline mean {mean:.2f} per period with {zeros:.0%} zero periods; "
                "too sparse for confident alarms (a single case can cross the threshold)"
            )
    years = table.counts.shape[1] / table.period
    if years < 2 and method in ("farrington", "nbcusum", "glr", "glr-poisson"):
        warnings.append(f"series covers {years:.1f} years: seasonality cannot be estimated")
    for area, n in table.filled.items():
        warnings.append(f"area {area}: {n} missing period(s) were counted as 0 (--fill-gaps)")
    return warnings, sparse


def monitor_table(
    table: CountTable,
    method: str,
    *,
    fdr_level: float = 0.05,
    baseline: int | None = None,
    params: dict[str, Any] | None = None,
) -> MonitorResult:
    """Fit `method` on the first `baseline` periods (default: the least it needs), monitor
    the rest of every area, and control the false-discovery rate across areas.

    Raises
    ------
    SeriesTooShortError
        When the series has no period left to monitor after the baseline (the message
        names the shortest method that would fit).
    """
    params = dict(params or {})
    det = make_detector(method, **params)
    det._check_params()
    period = table.period
    if method == "farrington" and table.freq == "monthly" and "w" not in params:
        det = make_detector(method, **{**params, "w": 1})
    need = det.min_baseline(period) if baseline is None else baseline
    T = table.counts.shape[1]
    if need >= T:
        raise SeriesTooShortError(
            f"{table.source or 'series'}: {T} {table.freq} periods; {method} needs {need} of "
            f"baseline plus at least one to monitor. EARS C1 needs 8 periods in all; or give "
            "a longer series."
        )
    det.fit(table.counts[:, :need], period=period)
    res = det.detect(table.counts[:, need:])
    n_areas = len(table.areas)
    pad = np.full((n_areas, need), np.nan)
    q = bh_qvalues(res.pvalue)
    frame = pd.DataFrame(
        {
            "date": np.tile(table.dates.values, n_areas),
            "area": np.repeat(table.areas, T),
            "count": table.counts.ravel(),
            "expected": np.hstack([pad, res.expected]).ravel(),
            "threshold": np.hstack([pad, res.threshold]).ravel(),
            "alarm": np.hstack([np.zeros((n_areas, need), bool), res.alarm]).ravel(),
            "score": np.hstack([pad, res.score]).ravel(),
            "pvalue": np.hstack([pad, res.pvalue]).ravel(),
            "qvalue": np.hstack([pad, q]).ravel(),
        }
    )
    frame["alarm_fdr"] = frame["alarm"] & (frame["qvalue"].fillna(1.0) <= fdr_level)
    frame["status"] = np.tile(np.r_[["baseline"] * need, ["monitored"] * (T - need)], n_areas)
    warnings, sparse = data_warnings(table, need, method)
    return MonitorResult(method, table.freq, need, frame, warnings, sparse)
