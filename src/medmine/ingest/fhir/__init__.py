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
from collections.abc import Callable, Iterable
from pathlib import Path

from medmine.ingest.fhir._load import Loader
from medmine.ingest.fhir._read import discover
from medmine.warehouse import LoadReport, LoadSession, Warehouse

__all__ = ["load"]


def load(
    paths: str | Path | Iterable[str | Path],
    warehouse: Warehouse | str | Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Load FHIR files (``.json``, ``.json.gz``, ``.ndjson``, ``.ndjson.gz``) or folders of them.

    Parameters
    ----------
    paths
        Files and/or folders (searched recursively).
    warehouse
        An open `Warehouse`, or the path of one (opened and closed here).
    progress
        Called as ``progress(bytes_read, bytes_total)`` while files are read.

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
    files = discover(list(paths))
    own = not isinstance(warehouse, Warehouse)
    wh = Warehouse(warehouse) if own else warehouse
    # Parsed resources are acyclic; the cyclic GC only rescans millions of young dicts.
    gc_enabled = gc.isenabled()
    gc.disable()
    try:
        with LoadSession(wh, "fhir", batch_rows=1 << 60) as session:
            loader = Loader(session, progress)
            try:
                loader.run(files)
            finally:
                loader.close()  # no write may still run when the session commits or rolls back
        return session.report
    finally:
        if gc_enabled:
            gc.enable()
        if own:
            wh.close()
