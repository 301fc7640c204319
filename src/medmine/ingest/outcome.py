"""Per-file outcome of a load, for the ingest exit-code policy.

A load succeeds when every input was read: quarantined records are a normal part of a load.
An input *fails* when it could not be read at all (a file-level rejection: binary, wrong
layout, truncated, empty) or when nothing was loaded from it because every record read from
it was quarantined. A file already loaded before (skipped as a duplicate) does not fail.

>>> FileOutcome("a.json", loaded=0, quarantined=3, reason="malformed").failed
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Record types under which readers quarantine a whole file.
FILE_LEVEL_TYPES = ("File",)

#: What each reader expects, shown when an input fails.
HINTS: dict[str, str] = {
    "fhir": "expected FHIR R4 JSON: Bundles (.json, .json.gz) or Bulk Data NDJSON (.ndjson)",
    "hl7v2": "expected HL7 v2 messages (segments separated by CR, starting with MSH), "
    "optionally in FHS/BHS batches or MLLP framing",
    "claims": "expected a claims CSV with the columns of docs/claims-format.md, or CMS "
    "DE-SynPUF files",
    "synthea_csv": "expected a Synthea CSV export folder (patients.csv, encounters.csv, ...)",
    "notes": "expected UTF-8 text notes (.txt), optionally with a metadata CSV",
    "omop": "expected an OMOP CDM DuckDB file or a folder of <table>.csv / <table>.parquet",
    "vcf": "expected VCF files (plain or bgzip) on GRCh38 with the pharmacogene positions, and "
    "a sample map naming each sample's person",
}


@dataclass(frozen=True)
class FileOutcome:
    """What one input file gave in one load."""

    source_file: str
    loaded: int
    quarantined: int
    reason: str = ""
    file_level: bool = False
    already_loaded: bool = False

    @property
    def failed(self) -> bool:
        """Not read at all, or read but nothing loaded (and not loaded by an earlier run)."""
        if self.already_loaded:
            return False
        return self.file_level or (self.loaded == 0 and self.quarantined > 0)


def file_outcomes(wh: Any, load_id: str) -> list[FileOutcome]:
    """Outcomes of the files of load `load_id`, from provenance and quarantine rows."""
    rows = wh.con.execute(
        """
        WITH l AS (
            SELECT source_file, count(*) AS n FROM mm_source_record
            WHERE load_id = ? GROUP BY 1
        ), q AS (
            SELECT source_file, count(*) AS n,
                   bool_or(resource_type IN (SELECT unnest(?::VARCHAR[]))) AS file_level,
                   arg_min(message, quarantine_id) AS first_message,
                   mode(reason_code) AS top_reason
            FROM mm_quarantine WHERE load_id = ? GROUP BY 1
        ), earlier AS (
            SELECT DISTINCT source_file FROM mm_load_file WHERE load_id <> ?
        )
        SELECT coalesce(l.source_file, q.source_file) AS f, coalesce(l.n, 0), coalesce(q.n, 0),
               coalesce(q.file_level, false), q.first_message, q.top_reason,
               coalesce(l.source_file, q.source_file) IN (SELECT source_file FROM earlier)
        FROM l FULL OUTER JOIN q ON l.source_file = q.source_file
        ORDER BY f
        """,
        [load_id, list(FILE_LEVEL_TYPES), load_id, load_id],
    ).fetchall()
    out = []
    for f, loaded, quarantined, file_level, message, top, earlier in rows:
        if file_level:
            reason = message or top or "could not be read"
        elif loaded == 0 and quarantined:
            reason = f"all {quarantined:,} records quarantined (mostly {top}): {message}"
        else:
            reason = ""
        out.append(FileOutcome(f, int(loaded), int(quarantined), reason, bool(file_level),
                               bool(earlier)))  # fmt: skip
    return out


def unread_inputs(wh: Any, load_id: str, inputs: Iterable[str | Path]) -> list[FileOutcome]:
    """Files named explicitly as inputs that left no trace in the load (nothing read).

    Folders are skipped (readers choose their files inside by extension). A file counts as
    read when a record of it was loaded, quarantined or registered, now or by an earlier load.
    """
    seen = {
        r[0]
        for r in wh.con.execute(
            "SELECT source_file FROM mm_source_record WHERE load_id = ? "
            "UNION SELECT source_file FROM mm_quarantine WHERE load_id = ? "
            "UNION SELECT source_file FROM mm_load_file",
            [load_id, load_id],
        ).fetchall()
    }
    names = {Path(s).name for s in seen} | {s.split(":")[0] for s in seen}
    out = []
    for p in inputs:
        path = Path(p)
        if path.is_dir():
            continue
        if str(path) in seen or path.name in names or str(path.resolve()) in seen:
            continue
        out.append(FileOutcome(str(path), 0, 0, "no records found in it", file_level=True))
    return out
