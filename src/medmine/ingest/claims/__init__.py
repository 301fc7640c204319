"""Claims: the medmine generic claims CSV contract and the CMS DE-SynPUF files.

Each file is recognised by its header: the contract's required columns
(``docs/claims-format.md``) or one of the five DE-SynPUF layouts. DE-SynPUF beneficiary
summaries are read before claim files so claims can resolve their beneficiary.

>>> from medmine.warehouse import Warehouse
>>> wh = Warehouse(":memory:")
>>> report = load([], wh)
>>> report.reconciles
True
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medmine.errors import SourceError
from medmine.ingest._emit import (
    SourceConcepts,
    expand_paths,
    file_error,
    open_csv,
    raw_csv_line,
    register,
    undecodable,
)
from medmine.ingest.claims._generic import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    GenericClaimsReader,
    is_generic_header,
)
from medmine.ingest.claims._layouts import LAYOUTS, layout_of, summary_year
from medmine.ingest.claims._synpuf import SynpufReader
from medmine.ingest.progress import Progress
from medmine.warehouse import LoadReport, LoadSession, Reason, Rejected, Warehouse

__all__ = ["LAYOUTS", "OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "load"]

_ORDER = {"beneficiary": 0, "carrier": 1, "inpatient": 1, "outpatient": 1, "pde": 1, None: 1}


def load(
    paths: str | Path | Iterable[str | Path],
    warehouse: Warehouse,
    *,
    progress: Progress | None = None,
    person_namespace: str = "claims:Patient",
    **options: Any,
) -> LoadReport:
    """Load claims CSV files (generic contract or DE-SynPUF) in one atomic load.

    Parameters
    ----------
    paths
        Files or folders (searched for ``*.csv``).
    warehouse
        Target warehouse.
    progress
        Called as ``progress(file, rows_read, None)`` after each file (see
        `medmine.ingest.progress`).
    person_namespace
        Namespace of the generic contract's ``patient_id``: ``stable_id(namespace, id)`` is
        the person id, so claims can point at persons loaded by another reader (for example
        ``"hl7v2:Patient"`` when ``patient_id`` is the MRN of the HL7 feed).

    A file that is empty or whose header matches no known layout is quarantined as one
    ``File`` record, a row that is not valid UTF-8 as a ``malformed`` record; the other
    files and rows still load.
    """
    if options:
        raise TypeError(f"unknown option(s) for claims.load: {sorted(options)}")
    files = expand_paths(paths, ("*.csv", "*.CSV"))
    plan: list[tuple[int, Path, str | None]] = []  # (reading order, file, file-level error)
    for path in files:
        try:
            f, header, _ = open_csv(path)
        except SourceError as err:
            plan.append((-1, path, err.reason))
            continue
        f.close()
        plan.append((_ORDER[layout_of(header)], path, None))
    plan.sort(key=lambda t: t[0])  # stable: beneficiary summaries first, else as given
    with LoadSession(warehouse, "claims") as s:
        concepts = SourceConcepts(s)
        generic = GenericClaimsReader(s, concepts, person_namespace)
        synpuf = SynpufReader(s, concepts)
        done = 0
        for _, path, error in plan:
            if error is not None:
                file_error(s, path, Reason.MALFORMED, error)
                continue
            f, header, reader = open_csv(path)
            with f:
                n = _read_file(s, path, header, reader, generic, synpuf)
            register(s, path, n)
            done += n
            if progress:
                progress(path.name, done, None)
    return s.report


def _read_file(
    s: LoadSession,
    path: Path,
    header: list[str],
    reader: Any,
    generic: GenericClaimsReader,
    synpuf: SynpufReader,
) -> int:
    layout = layout_of(header)
    if layout is None:
        if is_generic_header(header):
            return generic.read_file(path, header, reader)
        missing = sorted(set(REQUIRED_COLUMNS) - set(header))
        file_error(
            s, path, Reason.MALFORMED,
            "header matches no DE-SynPUF layout and lacks the claims contract's columns "
            f"{missing}",
        )  # fmt: skip
        return 0
    if layout == "beneficiary" and summary_year(path) is None:
        file_error(
            s, path, Reason.MISSING_FIELD,
            "beneficiary summary file name has no year (expected DE1_0_<year>_Beneficiary...)",
        )  # fmt: skip
        return 0
    rtype = LAYOUTS[layout][1]
    n = 0
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        n += 1
        loc = f"line {reader.line_num}"
        s.read(rtype)
        if undecodable(values):
            s.quarantine(
                str(path), loc, rtype, Reason.MALFORMED, "row is not valid UTF-8",
                record=raw_csv_line(values),
            )  # fmt: skip
            continue
        if len(values) != len(header):
            s.quarantine(
                str(path), loc, rtype, Reason.MALFORMED,
                f"row has {len(values)} columns, header has {len(header)}",
                record=raw_csv_line(values),
            )  # fmt: skip
            continue
        try:
            synpuf.record(layout, path, loc, dict(zip(header, values, strict=True)))
        except Rejected as err:
            s.quarantine(str(path), loc, rtype, err.reason, err.detail, record=raw_csv_line(values))
    return n
