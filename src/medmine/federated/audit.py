"""Proof that only model parameters crossed a site boundary: scan every recorded message.

`audit` reads the `Envelope` log of a transport and reports anything that could carry a
person: an array that is not a float vector or model text, a matrix, a vector as long as a
site's row or person count (one value per row: predictions, labels, residuals), a value equal
to a person id or to an encoding of a date from the cohort (epoch days, seconds,
milliseconds, nanoseconds, YYYYMMDD), or a date-like string. Person ids of real warehouses are
small integers that collide with counts and indices, so callers replace them by long random
canaries before training (`canary_ids`); the model never reads ids, so results are unchanged.

>>> import numpy as np
>>> from medmine.federated.transport import Envelope
>>> e = Envelope("to_coordinator", "a", "fit", 1, [np.zeros((5, 3))], {}, 0)
>>> [f.reason for f in audit([e], row_counts={5})]
['matrix']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from medmine.federated.transport import Envelope

#: YYYY-MM-DD or YYYY/MM/DD (undelimited YYYYMMDD numbers are caught as date values)
_ISO_DATE = re.compile(r"(?<!\d)(1[89]|20)\d\d[-/](0[1-9]|1[0-2])[-/](0[1-9]|[12]\d|3[01])(?!\d)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


#: Encodings below this magnitude (epoch days of 1970-1972) are not evidence of a date: they
#: coincide with round numbers, counts and column indices of every model message.
MIN_DATE_VALUE = 1000


@dataclass(frozen=True)
class AuditFinding:
    """One suspicious message: where and why (never the value itself)."""

    site: str
    direction: str
    round: int
    reason: str


def canary_ids(person_ids: Iterable, seed: int = 0) -> dict:
    """A map from each person id to a distinct random 13-digit canary."""
    uniq = pd.unique(np.asarray(list(person_ids)))
    rng = np.random.default_rng(seed)
    values = rng.choice(9 * 10**12, size=len(uniq), replace=False) + 10**12
    return dict(zip(uniq.tolist(), values.tolist(), strict=True))


def date_encodings(dates: Iterable) -> set[float]:
    """Every numeric encoding of the given dates that a leak could use."""
    d = pd.to_datetime(pd.Series(list(dates)), errors="coerce").dropna().dt.normalize().unique()
    d = pd.DatetimeIndex(d).as_unit("ns")
    ns = d.asi8.astype(np.int64)
    out: set[float] = set()
    for v in (
        ns // 86_400_000_000_000,
        ns // 1_000_000_000,
        ns // 1_000_000,
        ns,
        (d.year * 10000 + d.month * 100 + d.day).to_numpy(),
    ):
        out.update(float(x) for x in np.asarray(v) if abs(x) >= MIN_DATE_VALUE)
    return out


def _numbers(values: np.ndarray) -> set[float]:
    v = values[np.isfinite(values)]
    v = v[(v != 0) & (v == np.round(v))]
    return {float(x) for x in v}


def audit(
    log: Iterable[Envelope],
    *,
    row_counts: set[int] = frozenset(),
    person_ids: Iterable = (),
    dates: Iterable = (),
    allowed_lengths: set[int] = frozenset(),
) -> list[AuditFinding]:
    """Findings for every message that carries more than model parameters (empty: clean).

    Parameters
    ----------
    row_counts
        Row and person counts of every site (a vector this long is one value per row).
    person_ids
        Ids that must never be sent (use `canary_ids`).
    dates
        Dates of the cohort (index, outcome, stay dates); none of their encodings may appear.
    allowed_lengths
        Lengths of the model's own vectors (number of covariates), exempt from `row_counts`.
    """
    ids = {float(i) for i in person_ids}
    date_values = date_encodings(dates)
    findings = []
    for e in log:

        def flag(reason: str, e: Envelope = e) -> None:
            findings.append(AuditFinding(e.site, e.direction, e.round, reason))

        for a in e.arrays:
            if a.dtype == np.uint8 and a.ndim == 1:
                text = bytes(a).decode("utf-8", errors="replace")
                if _ISO_DATE.search(text):
                    flag("date-like text")
                nums = {float(t) for t in _NUMBER.findall(text)}
                if nums & ids:
                    flag("person id in text")
                if {n for n in nums if n == round(n)} & date_values:
                    flag("date value in text")
                continue
            if a.dtype.kind != "f":
                flag(f"array of dtype {a.dtype} (only float vectors and model text may travel)")
                continue
            if a.ndim != 1:
                flag("matrix")
                continue
            if len(a) > 1 and len(a) in row_counts and len(a) not in allowed_lengths:
                flag("row-shaped vector")
            nums = _numbers(a)
            if nums & ids:
                flag("person id")
            if nums & date_values:
                flag("date value")
        for v in e.values.values():
            if isinstance(v, str):
                if _ISO_DATE.search(v):
                    flag("date-like text in config or metrics")
            elif isinstance(v, int | float) and not isinstance(v, bool):
                if float(v) in ids:
                    flag("person id in config or metrics")
                if float(v) == round(float(v)) and float(v) != 0 and float(v) in date_values:
                    flag("date value in config or metrics")
    return findings
