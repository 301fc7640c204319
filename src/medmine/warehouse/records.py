"""What a load produces and consumes, apart from the session itself: reason codes, the
`Rejected` outcome of a record, provenance columns, table batches and the `LoadReport`.

`medmine.warehouse.load.LoadSession` is the write path that uses them.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from medmine.errors import MedmineError, WarehouseError
from medmine.warehouse.schema import table as table_spec


class Reason(enum.StrEnum):
    """Machine-readable reason codes for quarantined records and warnings."""

    MALFORMED = "malformed"  # cannot be parsed (bad JSON, broken segment, wrong column count)
    MISSING_FIELD = "missing_field"  # a required element is absent
    INVALID_DATE = "invalid_date"  # a date that does not parse or is impossible
    INVALID_VALUE = "invalid_value"  # a value of the wrong type or outside its domain
    INVALID_CODE = "invalid_code"  # a code of the wrong shape for its system (NPI, ICD-10...)
    DANGLING_REFERENCE = "dangling_reference"  # a required reference that resolves to nothing
    UNSUPPORTED_TYPE = "unsupported_type"  # a record kind the reader does not know
    UNSUPPORTED_MODIFIER = "unsupported_modifier"  # a FHIR modifierExtension not understood
    DUPLICATE = "duplicate"  # the same record already loaded (skip reason)
    NOT_MAPPED = "not_mapped"  # a resource type with no warehouse mapping (skip reason)
    NO_RESOURCE = "no_resource"  # a FHIR Bundle entry with a request only (skip reason)
    UNRESOLVED_REFERENCE = "unresolved_reference"  # optional reference kept as source value
    CONFLICT = "conflict"  # contradicts an earlier record (for example an update to no visit)


class Rejected(MedmineError):  # noqa: N818  (a record's outcome, not a failure of the load)
    """A record cannot be loaded; the reader quarantines it with `reason` and `detail`.

    Raised by mappers and field parsers inside a reader and caught there: the record goes to
    ``mm_quarantine`` and the load continues. `detail` names the field and the problem, never
    the value (no PHI).

    >>> err = Rejected(Reason.INVALID_DATE, "BIRTHDATE is not a valid date")
    >>> err.reason.value, err.detail
    ('invalid_date', 'BIRTHDATE is not a valid date')
    """

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


#: One value for every row of a batch, or one value per row.
Values = str | Sequence[str | None] | pa.Array | pa.ChunkedArray | None


@dataclass(frozen=True)
class Provenance:
    """Where a batch of rows given to `LoadSession.add_table` came from.

    Each field is one value for every row (``source_file="patients.csv"``) or one value per
    row (a list or Arrow array as long as the batch).
    """

    source_file: Values
    location: Values
    source_key: Values = None
    checksum: Values = None


_PROVENANCE = table_spec("mm_source_record").arrow_schema()


def _column(value: Any, n: int, typ: pa.DataType) -> pa.Array:
    """`value` as an Arrow array of `n` rows: a scalar is repeated, a sequence converted."""
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if isinstance(value, pa.Array):
        arr = value if value.type == typ else value.cast(typ)
    elif value is None or isinstance(value, str | int):
        return pa.repeat(pa.scalar(value, typ), n)
    else:
        arr = pa.array(value, typ)
    if len(arr) != n:
        raise WarehouseError(f"a provenance column has {len(arr)} values for {n} rows")
    return arr


def _provenance_rows(
    load_id: str,
    table_name: Any,
    row_id: Any,
    resource_type: Any,
    source: Provenance,
    n: int,
) -> pa.Table:
    """The ``mm_source_record`` rows for `n` loaded rows: the one place provenance is built.

    Every argument but `load_id` and `n` is one value for all rows or one value per row.
    """
    given = {
        "table_name": table_name,
        "row_id": row_id,
        "load_id": load_id,
        "source_file": source.source_file,
        "location": source.location,
        "resource_type": resource_type,
        "source_key": source.source_key,
        "checksum": source.checksum,
    }
    arrays = [_column(given[f.name], n, f.type) for f in _PROVENANCE]
    return pa.Table.from_arrays(arrays, schema=_PROVENANCE)


def rows_to_arrow(name: str, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows of warehouse table `name`, given as dicts, as an Arrow table of its schema.

    Columns a row leaves out are null.

    Raises
    ------
    WarehouseError
        If a row has a key that is not a column of the table.
    """
    spec = table_spec(name)
    schema = spec.arrow_schema()
    unknown = set().union(*(r.keys() for r in rows)) - set(schema.names)
    if unknown:
        raise WarehouseError(f"{name} has no column(s) {sorted(unknown)}")
    return pa.Table.from_pylist(list(rows), schema=schema)


@dataclass(frozen=True)
class TableBatch:
    """Rows of one warehouse table for `LoadSession.add_tables` (see `LoadSession.add_table`)."""

    name: str
    rows: pa.Table
    record_type: Values
    provenance: Provenance | None = None
    primary: bool = True


def _check_batch(b: TableBatch) -> None:
    """Raise `WarehouseError` when a batch cannot be written as asked."""
    spec = table_spec(b.name)
    unknown = set(b.rows.column_names) - set(spec.column_names)
    if unknown:
        raise WarehouseError(f"{b.name} has no column(s) {sorted(unknown)}")
    if len(spec.primary_key) != 1 and (b.primary or b.provenance is not None):
        raise WarehouseError(
            f"{b.name} has a composite key: add_table writes its rows only with "
            "primary=False and no provenance"
        )
    if b.primary and (b.provenance is None or b.record_type is None):
        raise WarehouseError("add_table needs a record_type and a provenance for records")


@dataclass
class TypeCounts:
    """Counts for one record type within a load."""

    read: int = 0
    loaded: int = 0
    skipped: int = 0
    quarantined: int = 0
    warnings: int = 0

    @property
    def reconciles(self) -> bool:
        """True when every record read is accounted for."""
        return self.read == self.loaded + self.skipped + self.quarantined


@dataclass
class LoadReport:
    """What a load did: per-type counts, reasons, rows written per table, duration."""

    load_id: str
    source_kind: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    files: int = 0
    counts: dict[str, TypeCounts] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    skip_reasons: dict[str, int] = field(default_factory=dict)
    warning_reasons: dict[str, int] = field(default_factory=dict)
    rows_written: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def totals(self) -> TypeCounts:
        """Counts summed over record types."""
        t = TypeCounts()
        for c in self.counts.values():
            t.read += c.read
            t.loaded += c.loaded
            t.skipped += c.skipped
            t.quarantined += c.quarantined
            t.warnings += c.warnings
        return t

    @property
    def reconciles(self) -> bool:
        """True when read = loaded + skipped + quarantined for every record type."""
        return all(c.reconciles for c in self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (used for `mm_load.detail` and reports)."""
        d = asdict(self)
        d["started_at"] = self.started_at.isoformat()
        d["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        d["totals"] = asdict(self.totals)
        d["reconciles"] = self.reconciles
        return d
