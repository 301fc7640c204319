"""The source formats a pipeline file may name: each one's reader, what its paths hold and
which reader options it takes (with their types, checked like every other setting).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FORMATS", "SourceFormat"]


@dataclass(frozen=True)
class SourceFormat:
    """A source format of the pipeline file: its reader, what its paths hold, its options."""

    name: str
    reader: str
    what: str
    options: Mapping[str, Any] = field(default_factory=dict)
    one_path: bool = False


#: Formats by the name written in ``sources[].format``; ``reader`` modules have ``load``.
FORMATS: dict[str, SourceFormat] = {
    f.name: f
    for f in (
        SourceFormat(
            "omop",
            "medmine.ingest.omop",
            "an OMOP CDM DuckDB file or a folder of <table>.csv / .parquet files",
            {"tables": tuple[str, ...]},
            one_path=True,
        ),
        SourceFormat(
            "fhir",
            "medmine.ingest.fhir",
            "FHIR R4 Bundles (.json, .json.gz) or Bulk NDJSON (.ndjson, .ndjson.gz), or folders",
            {"memory_limit": str},
        ),
        SourceFormat(
            "hl7v2", "medmine.ingest.hl7v2", "HL7 v2 files (.hl7, .er7, .mllp, .txt) or folders"
        ),
        SourceFormat(
            "claims",
            "medmine.ingest.claims",
            "claims CSV files (docs/claims-format.md or CMS DE-SynPUF) or folders",
            {"person_namespace": str},
        ),
        SourceFormat(
            "synthea-csv",
            "medmine.ingest.synthea_csv",
            "a Synthea CSV export folder (output/csv) or its files",
        ),
        SourceFormat(
            "notes",
            "medmine.ingest.notes",
            "folders of .txt notes, or note files",
            {
                "metadata": Path | None,
                "person_namespace": str | None,
                "visit_namespace": str | None,
                "language": str | None,
            },
        ),
        SourceFormat(
            "consent",
            "medmine.privacy.consent",
            "consent CSV files or FHIR Consent JSON / NDJSON (loaded after the other sources)",
        ),
    )
}
