"""FHIR R4 ingestion: transaction/collection Bundles and Bulk Data NDJSON into the warehouse.

Every resource read is loaded (with provenance), skipped by design (unmapped type, duplicate,
report without text) or quarantined with a reason code; see ``docs/ingest-fhir.md`` for the
mapping table, reference resolution and reason codes.

>>> from medmine.warehouse import Warehouse
>>> report = load(["tests/data/fhir/bulk"], Warehouse(":memory:"))  # doctest: +SKIP
>>> report.reconciles  # doctest: +SKIP
True
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable
from pathlib import Path

from medmine.ingest.fhir._load import Loader
from medmine.ingest.fhir._read import discover
from medmine.ingest.fhir._stage import (
    StageProblem,
    StageReport,
    stage_files,
    stage_warehouse,
)
from medmine.ingest.progress import Progress
from medmine.warehouse import LoadReport, LoadSession, Warehouse
from medmine.warehouse.sql import literal

__all__ = ["StageProblem", "StageReport", "load", "stage_files", "stage_warehouse"]


def load(
    paths: str | Path | Iterable[str | Path],
    warehouse: Warehouse | str | Path,
    *,
    progress: Progress | None = None,
    memory_limit: str | None = "1GB",
    keep_raw: bool = True,
    setwise: bool = True,
) -> LoadReport:
    """Load FHIR files (``.json``, ``.json.gz``, ``.ndjson``, ``.ndjson.gz``) or folders of them.

    Parameters
    ----------
    paths
        Files and/or folders (searched recursively).
    warehouse
        An open `Warehouse`, or the path of one (opened and closed here).
    progress
        Called as ``progress(file_name, bytes_read, bytes_total)`` while files are read (see
        `medmine.ingest.progress`); the byte counts cover all files of the load.
    memory_limit
        DuckDB memory limit during the load (never raised above the warehouse's own). The
        whole load is one transaction, and DuckDB keeps uncommitted rows in memory unless a
        limit makes it spill them to disk; ``None`` leaves the setting alone.
    keep_raw
        Keep every resource's JSON in the raw store ``mm_fhir_resource`` (with its file, line
        or Bundle entry and the load id), so that ViewDefinitions can run on it later
        (``medmine view run VIEW.json --warehouse W``). Re-loading a file adds no row.
    setwise
        Map the types that have a set-wise mapping in the loader (Condition, Observation,
        Procedure; `_mappings.setwise_mappings`) in DuckDB at the end of the load, from the
        raw store. Resources of an odd shape still go to the per-resource mapper. The rows
        are the same either way (tests compare them). On by default: measured on 1,014,496
        resources, 62.5 CPU-s against 65.7 CPU-s for the per-resource mapper (docs/ingest-fhir.md);
        ``False`` maps every resource one at a time. Needs `keep_raw` (without it, every
        resource is mapped one at a time).

    Returns
    -------
    LoadReport
        Per resource type: read = loaded + skipped + quarantined.

    Raises
    ------
    SourceError
        A path does not exist (nothing is loaded). Unreadable files do not raise: each is
        counted as one quarantined record of type ``File`` and the other files still load.
    LoadInterruptedError
        The load was interrupted (Ctrl-C); the warehouse is unchanged.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    if memory_limit is not None and _bytes(memory_limit) is None:
        raise ValueError(f"memory_limit must be a size such as '1GB', got {memory_limit!r}")
    files = discover(list(paths))
    own = not isinstance(warehouse, Warehouse)
    wh = Warehouse(warehouse) if own else warehouse
    # Parsed resources are acyclic; the cyclic GC only rescans millions of young dicts.
    gc_enabled = gc.isenabled()
    previous_limit = None
    try:
        gc.disable()
        previous_limit = _lower_memory_limit(wh, memory_limit)
        with LoadSession(wh, "fhir", batch_rows=1 << 60) as session:
            Loader(session, progress, keep_raw=keep_raw, setwise=setwise).run(files)
        return session.report
    finally:
        if gc_enabled:
            gc.enable()
        if previous_limit is not None:
            _restore_memory_limit(wh, previous_limit)
        if own:
            wh.close()


_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


def _bytes(setting: str) -> float | None:
    """``"18.6 GiB"`` -> bytes (None when the text is not a size)."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]+)\s*", setting)
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def _lower_memory_limit(wh: Warehouse, limit: str | None) -> str | None:
    """Set DuckDB's memory limit to `limit` if lower; returns the setting to restore."""
    if limit is None:
        return None
    current = wh.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    now, new = _bytes(str(current)), _bytes(limit)
    if new is None:
        raise ValueError(f"memory_limit must be a size such as '1GB', got {limit!r}")
    if now is not None and now <= new:
        return None
    wh.con.execute(f"SET memory_limit = {literal(limit)}")
    return str(current)


def _restore_memory_limit(wh: Warehouse, previous: str) -> None:
    """Put the memory limit back (exactly, when it was DuckDB's default)."""
    wh.con.execute("RESET memory_limit")
    if wh.con.execute("SELECT current_setting('memory_limit')").fetchone()[0] != previous:
        wh.con.execute(f"SET memory_limit = {literal(previous)}")
