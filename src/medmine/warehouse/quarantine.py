"""Browse what loads set aside: quarantined records by load and reason, and their export.

Listings carry where a record came from (file, location, type) and why (reason code and
message); messages never echo data values. The raw record is PHI: it is only exported on
request (``include_raw``), to a file readable by its owner alone, and the export is audited.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from medmine.errors import ConfigError
from medmine.warehouse.audit import append
from medmine.warehouse.connection import Warehouse

#: Columns listed and exported (``record``, the raw input, only on request).
COLUMNS = (
    "quarantine_id",
    "load_id",
    "source_file",
    "location",
    "resource_type",
    "reason_code",
    "message",
    "quarantined_at",
)


def _where(load_id: str | None, reason: str | None) -> tuple[str, list[str]]:
    clauses, params = [], []
    if load_id:
        clauses.append("load_id = ?")
        params.append(load_id)
    if reason:
        clauses.append("reason_code = ?")
        params.append(reason)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def check_filters(wh: Warehouse, load_id: str | None, reason: str | None) -> None:
    """Refuse a load id or reason code that the warehouse does not know (names the known)."""
    if load_id:
        known = [r[0] for r in wh.con.execute("SELECT load_id FROM mm_load").fetchall()]
        if load_id not in known:
            raise ConfigError(
                f"--load {load_id!r} is not a load of this warehouse; known loads: "
                f"{', '.join(known[-10:]) or 'none'} (see `medmine warehouse info`)"
            )
    if reason:
        known = [
            r[0]
            for r in wh.con.execute(
                "SELECT DISTINCT reason_code FROM mm_quarantine ORDER BY 1"
            ).fetchall()
        ]
        if reason not in known:
            raise ConfigError(
                f"--reason {reason!r} matches no quarantined record; reasons present: "
                f"{', '.join(known) or 'none'}"
            )


def summary(wh: Warehouse, load_id: str | None = None, reason: str | None = None) -> pd.DataFrame:
    """Quarantined records per load, record type and reason code."""
    where, params = _where(load_id, reason)
    return wh.df(
        "SELECT load_id, resource_type, reason_code, count(*) AS records FROM mm_quarantine "
        f"{where} GROUP BY ALL ORDER BY load_id, records DESC, reason_code",
        params,
    )


def listing(
    wh: Warehouse,
    load_id: str | None = None,
    reason: str | None = None,
    limit: int | None = 50,
) -> pd.DataFrame:
    """Quarantined records (without the raw record), oldest first."""
    where, params = _where(load_id, reason)
    cols = ", ".join(COLUMNS)
    sql = f"SELECT {cols} FROM mm_quarantine {where} ORDER BY quarantine_id"
    if limit is not None:
        sql += " LIMIT ?"
        params = [*params, int(limit)]
    return wh.df(sql, params)


def export(
    wh: Warehouse,
    path: str | Path,
    load_id: str | None = None,
    reason: str | None = None,
    *,
    include_raw: bool = False,
) -> int:
    """Write the matching records to CSV `path`; returns the number of records.

    With `include_raw` the raw input record is included: the file may hold PHI, so it is
    created readable by its owner only and the export is recorded in the audit log.
    """
    out = Path(path)
    if out.is_dir():
        raise ConfigError(f"--export {out} is a folder; give a CSV file path")
    where, params = _where(load_id, reason)
    cols = [*COLUMNS, "record"] if include_raw else list(COLUMNS)
    rows = wh.con.execute(
        f"SELECT {', '.join(cols)} FROM mm_quarantine {where} ORDER BY quarantine_id", params
    ).fetchall()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(cols)
        w.writerows(rows)
    if include_raw and not wh.read_only:
        append(
            wh.con,
            None,
            "quarantine.export",
            object="mm_quarantine",
            row_count=len(rows),
            detail={"raw_records": True, "load": load_id, "reason": reason},
        )
    return len(rows)
