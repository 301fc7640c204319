"""Leakage probe: features recomputed with every event on or after the index date deleted.

For each probed cohort row, the person's events dated on or after that row's index date (and a
death on or after it) are hidden, the covariates are recomputed from what is left, and compared
with the covariates the model was given. Any difference means a covariate saw the future.

The hiding happens in temporary tables of the same DuckDB connection that shadow the warehouse
tables for the duration of the probe (one pseudo-person per probed row, so two index dates of
the same person are cut separately); the warehouse itself is never changed.

>>> from medmine.warehouse import Warehouse
>>> from medmine.features import build_cohort, readmission, extract_covariates
>>> wh = Warehouse(":memory:")
>>> c = build_cohort(wh, readmission())
>>> leakage_probe(wh, c, extract_covariates(wh, c)).rows_changed
0
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from medmine.features import extract_covariates
from medmine.warehouse.schema import domain
from medmine.warehouse.sql import ident

#: Event domains hidden after the index date (the covariates read these, plus person and death).
PROBED_DOMAINS = ("condition", "drug", "procedure", "measurement", "observation", "device", "visit")


@dataclass
class LeakageReport:
    """What the probe found: rows and covariates whose value changed once the future was hidden."""

    rows_checked: int
    rows_changed: int
    changed_features: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when no covariate of any probed row changed."""
        return self.rows_changed == 0

    def summary(self) -> str:
        """One sentence for the page."""
        if self.clean:
            return (
                f"Leakage probe: {self.rows_checked} test rows recomputed with every event on or "
                "after their index date deleted; no covariate changed."
            )
        shown = ", ".join(self.changed_features[:5])
        return (
            f"Leakage probe: {self.rows_changed} of {self.rows_checked} test rows changed when "
            f"events on or after the index date were deleted; covariates: {shown}."
        )


def leakage_probe(
    wh: Any,
    cohort: Any,
    matrix: Any,
    *,
    rows: np.ndarray | None = None,
    max_rows: int = 500,
    random_state: int = 0,
) -> LeakageReport:
    """Recompute `matrix`'s covariates for cohort rows with their future deleted and compare.

    Parameters
    ----------
    wh
        The warehouse (DuckDB) the cohort was built in.
    cohort
        The cohort (``frame`` with ``row_id, person_id, index_date``).
    matrix
        The `CovariateMatrix` the model was given (its ``reference`` and ``settings`` are
        reused); rows in the order of ``cohort.frame``.
    rows
        Positions in ``cohort.frame`` to probe (default: all, sampled down to `max_rows`).
    """
    frame = cohort.frame.reset_index(drop=True)
    pos = np.arange(len(frame)) if rows is None else np.asarray(rows)
    if len(pos) > max_rows:
        pos = np.sort(np.random.default_rng(random_state).choice(pos, max_rows, replace=False))
    if len(pos) == 0 or matrix.X.shape[1] == 0:
        return LeakageReport(len(pos), 0)
    sub = frame.iloc[pos]
    probe_frame = pd.DataFrame(
        {
            "row_id": sub["row_id"].to_numpy(dtype="int64"),
            "person_id": sub["row_id"].to_numpy(dtype="int64"),
            "index_date": pd.to_datetime(sub["index_date"]).to_numpy(),
        }
    )
    con = wh.con
    db = con.execute("SELECT current_database()").fetchall()[0][0]
    keys = f"_mm_probe_rows_{uuid.uuid4().hex[:10]}"
    shadowed: list[str] = []
    con.register(
        f"{keys}_src",
        pa.table(
            {
                "row_id": pa.array(sub["row_id"].to_numpy(dtype="int64")),
                "person_id": pa.array(sub["person_id"].to_numpy(dtype="int64")),
                "index_date": pa.array(
                    pd.to_datetime(sub["index_date"]).to_numpy().astype("datetime64[D]")
                ),
            }
        ),
    )
    try:
        con.execute(f"CREATE TEMP TABLE {ident(keys)} AS SELECT * FROM {ident(keys + '_src')}")
        sources = [(domain(d).table, domain(d).start_column) for d in PROBED_DOMAINS]
        sources += [("person", None), ("death", "death_date")]
        if getattr(matrix.settings, "notes", False):
            # note features: mentions reach a row through its person's notes (note_nlp
            # joins `note` by note_id), so hiding later notes hides their mentions
            sources.append(("note", "note_date"))
        for table, date in sources:
            if not _table_exists(con, table):
                continue
            cut = "" if date is None else f" WHERE e.{ident(date)} < r.index_date"
            con.execute(
                f"CREATE TEMP TABLE {ident(table)} AS SELECT e.* REPLACE (r.row_id AS person_id) "
                f"FROM {ident(db)}.main.{ident(table)} e JOIN {ident(keys)} r "
                f"ON e.person_id = r.person_id{cut}"
            )
            shadowed.append(table)
        probe = extract_covariates(
            wh, _Rows(probe_frame), matrix.settings, reference=matrix.reference
        )
    finally:
        for table in shadowed:
            con.execute(f"DROP TABLE IF EXISTS temp.main.{ident(table)}")
        con.execute(f"DROP TABLE IF EXISTS {ident(keys)}")
        con.unregister(f"{keys}_src")
    orig = matrix.X[pos][:, : probe.X.shape[1]]
    diff = abs(orig - probe.X)
    changed_rows = np.asarray((diff > 1e-6).sum(axis=1)).ravel() > 0
    changed_cols = np.flatnonzero(np.asarray((diff > 1e-6).sum(axis=0)).ravel())
    return LeakageReport(
        rows_checked=len(pos),
        rows_changed=int(changed_rows.sum()),
        changed_features=[probe.columns[j] for j in changed_cols],
    )


def _table_exists(con, name: str) -> bool:
    q = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary"
    return bool(con.execute(q, [name]).fetchall()[0][0])


@dataclass
class _Rows:
    """The minimal cohort `extract_covariates` needs: a frame of rows."""

    frame: pd.DataFrame
