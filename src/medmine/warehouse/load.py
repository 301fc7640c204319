"""The loading contract: atomic, idempotent loads where every record is loaded, skipped or
quarantined, and the counts reconcile (read = loaded + skipped + quarantined).

Every source reader (`medmine.ingest.*`) drives one `LoadSession`:

>>> from medmine.warehouse import Warehouse
>>> wh = Warehouse(":memory:")
>>> with LoadSession(wh, "example") as s:
...     s.read("Thing")
...     s.quarantine("f.csv", "line 2", "Thing", Reason.MISSING_FIELD, "no id")
>>> s.report.counts["Thing"].quarantined
1
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from medmine.errors import LoadInterruptedError, WarehouseError
from medmine.warehouse import audit
from medmine.warehouse.connection import Warehouse
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
    DUPLICATE = "duplicate"  # the same record already loaded (skip reason)
    NOT_MAPPED = "not_mapped"  # a resource type with no warehouse mapping (skip reason)
    UNRESOLVED_REFERENCE = "unresolved_reference"  # optional reference kept as source value
    CONFLICT = "conflict"  # contradicts an earlier record (for example an update to no visit)


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


class _Buffer:
    """Column-wise row buffer for one table (appending to lists is the cheapest Python path)."""

    def __init__(self, name: str) -> None:
        self.spec = table_spec(name)
        self.cols: dict[str, list[Any]] = {c: [] for c in self.spec.column_names}
        self.n = 0

    def append(self, row: dict[str, Any]) -> None:
        for name, values in self.cols.items():
            values.append(row.get(name))
        self.n += 1
        unknown = row.keys() - self.cols.keys()
        if unknown:
            raise WarehouseError(f"{self.spec.name} has no column(s) {sorted(unknown)}")

    def to_arrow(self) -> pa.Table:
        schema = self.spec.arrow_schema()
        arrays = [pa.array(self.cols[f.name], type=f.type) for f in schema]
        return pa.Table.from_arrays(arrays, schema=schema)

    def clear(self) -> None:
        for v in self.cols.values():
            v.clear()
        self.n = 0


def _row_key(spec: Any, row: dict[str, Any]) -> int:
    """The provenance row id: the primary key, or a stable hash of a composite key."""
    if len(spec.primary_key) == 1:
        return row[spec.primary_key[0]]
    from medmine.warehouse.ids import stable_id

    return stable_id(spec.name, "\x1f".join(str(row.get(k)) for k in spec.primary_key))


class LoadSession:
    """One atomic load into a warehouse.

    Use as a context manager. Inside, a reader calls `read` for each record it meets, then
    exactly one of `add_record` (loaded), `skip` or `quarantine`. Rows are buffered and
    flushed in batches inside a single transaction; leaving the block commits, an exception
    (including Ctrl-C) rolls everything back and records a `rolled_back` row in `mm_load`.

    Rows are inserted with ``INSERT OR IGNORE`` on the primary key, and a record whose primary
    row's provenance already exists is counted as skipped (``duplicate``), so loading the same
    input twice adds nothing.
    """

    def __init__(self, warehouse: Warehouse, source_kind: str, *, batch_rows: int = 50_000):
        self.wh = warehouse
        self.source_kind = source_kind
        self.batch_rows = batch_rows
        self.load_id = (
            f"{source_kind}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        )
        self.report = LoadReport(
            load_id=self.load_id,
            source_kind=source_kind,
            status="running",
            started_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )
        self._counts: dict[str, TypeCounts] = defaultdict(TypeCounts)
        self._buffers: dict[str, _Buffer] = {}
        self._prov = _Buffer("mm_source_record")
        self._primary: list[bool] = []  # parallel to _prov: is the row its record's primary row
        self._quarantine = _Buffer("mm_quarantine")
        self._pending = 0
        self._next_qid = 0
        self._t0 = 0.0
        self._files: set[str] = set()
        self._active = False

    # ---- context management ----
    def __enter__(self) -> LoadSession:
        self._t0 = time.perf_counter()
        self.wh.con.execute("BEGIN TRANSACTION")
        self._active = True
        self._next_qid = int(
            self.wh.con.execute(
                "SELECT coalesce(max(quarantine_id), 0) FROM mm_quarantine"
            ).fetchone()[0]
        )
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            try:
                self._commit()
                return
            except BaseException as err:
                exc = err
        self._rollback()
        if isinstance(exc, KeyboardInterrupt):
            raise LoadInterruptedError(
                f"load {self.load_id} interrupted; the warehouse was rolled back unchanged"
            ) from exc
        if exc_type is None and exc is not None:
            raise exc

    # ---- the record-level contract ----
    def read(self, record_type: str, n: int = 1) -> None:
        """Count `n` records of `record_type` as read."""
        self._counts[record_type].read += n

    def add_record(
        self,
        record_type: str,
        rows: list[tuple[str, dict[str, Any]]],
        *,
        source_file: str,
        location: str,
        source_key: str | None = None,
    ) -> None:
        """Load one record as rows ``[(table, row), ...]``; the first row is the primary one.

        Provenance is written for every row; the record counts as loaded (or, at flush, as a
        duplicate skip if its primary row was loaded before).
        """
        for i, (name, row) in enumerate(rows):
            buf = self._buffers.get(name)
            if buf is None:
                buf = self._buffers[name] = _Buffer(name)
            buf.append(row)
            spec = buf.spec
            self._primary.append(i == 0)
            self._prov.append(
                {
                    "table_name": name,
                    "row_id": _row_key(spec, row),
                    "load_id": self.load_id,
                    "source_file": source_file,
                    "location": location,
                    "resource_type": record_type,
                    "source_key": source_key,
                }
            )
        self._counts[record_type].loaded += 1
        self._pending += len(rows)
        self._files.add(source_file)
        if self._pending >= self.batch_rows:
            self.flush()

    def add_rows(self, name: str, row: dict[str, Any]) -> None:
        """Buffer a row that belongs to no single record (e.g. an identifier); no counting."""
        buf = self._buffers.get(name)
        if buf is None:
            buf = self._buffers[name] = _Buffer(name)
        buf.append(row)
        self._pending += 1

    def skip(self, record_type: str, reason: Reason | str, n: int = 1) -> None:
        """Count `n` records as skipped by design (unmapped type, duplicate...)."""
        self._counts[record_type].skipped += n
        key = str(reason)
        self.report.skip_reasons[key] = self.report.skip_reasons.get(key, 0) + n

    def warn(self, record_type: str, reason: Reason | str, n: int = 1) -> None:
        """Count a warning (e.g. an optional reference that did not resolve)."""
        self._counts[record_type].warnings += n
        key = str(reason)
        self.report.warning_reasons[key] = self.report.warning_reasons.get(key, 0) + n

    def quarantine(
        self,
        source_file: str,
        location: str,
        record_type: str | None,
        reason: Reason | str,
        message: str,
        record: str | None = None,
    ) -> None:
        """Set a record aside with where it came from and why; it is counted, never lost.

        `message` must not contain PHI values: name the field and the problem, not the value.
        `record` (the raw input) is kept in the warehouse so it can be fixed and reloaded.
        """
        self._next_qid += 1
        self._quarantine.append(
            {
                "quarantine_id": self._next_qid,
                "load_id": self.load_id,
                "source_file": source_file,
                "location": location,
                "resource_type": record_type,
                "reason_code": str(reason),
                "message": message,
                "record": record,
                "quarantined_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            }
        )
        if record_type is not None:
            self._counts[record_type].quarantined += 1
        key = str(reason)
        self.report.quarantine_reasons[key] = self.report.quarantine_reasons.get(key, 0) + 1
        self._files.add(source_file)

    def tally(
        self,
        record_type: str,
        *,
        loaded: int = 0,
        skipped: int = 0,
        quarantined: int = 0,
        reason: Reason | str | None = None,
    ) -> None:
        """Count records handled in bulk by SQL (readers that validate and insert set-wise).

        `skipped` and `quarantined` counts are attributed to `reason`. Bulk readers write their
        quarantine rows themselves, numbering them with `reserve_quarantine_ids`.
        """
        c = self._counts[record_type]
        c.loaded += loaded
        if skipped:
            self.skip(record_type, reason or Reason.DUPLICATE, skipped)
        if quarantined:
            c.quarantined += quarantined
            key = str(reason or Reason.INVALID_VALUE)
            self.report.quarantine_reasons[key] = (
                self.report.quarantine_reasons.get(key, 0) + quarantined
            )

    def reserve_quarantine_ids(self, n: int) -> int:
        """Reserve `n` consecutive quarantine ids; returns the first one minus one (the base)."""
        self.flush()
        base = self._next_qid
        self._next_qid += n
        return base

    def register_file(self, path: str, sha256: str, size_bytes: int, records_read: int) -> None:
        """Record that a file was read in this load (kept by content hash)."""
        self.wh.con.execute(
            "INSERT OR IGNORE INTO mm_load_file VALUES (?, ?, ?, ?, ?, ?)",
            [sha256, self.source_kind, self.load_id, path, size_bytes, records_read],
        )
        self._files.add(path)

    # ---- flushing ----
    def flush(self) -> None:
        """Write buffered rows to the warehouse (inside the load's transaction)."""
        con = self.wh.con
        if self._prov.n:
            prov = self._prov.to_arrow().append_column(  # noqa: F841  (DuckDB replacement scan)
                "_primary", pa.array(self._primary, pa.bool_())
            )
            # A record is a duplicate when its primary row was loaded before, or when an
            # earlier record of this batch has the same primary row. Secondary rows (a shared
            # person, a location) never decide: they are simply not inserted twice.
            dups = con.execute(
                "WITH p AS (SELECT *, row_number() OVER (PARTITION BY table_name, row_id) AS k "
                "FROM prov WHERE _primary) "
                "SELECT p.resource_type, count(*) FROM p WHERE p.k > 1 OR EXISTS (SELECT 1 FROM "
                "mm_source_record s WHERE s.table_name = p.table_name AND s.row_id = p.row_id) "
                "GROUP BY 1"
            ).fetchall()
            for rtype, n in dups:
                self._move_to_duplicate(rtype, int(n))
            con.execute(
                "INSERT OR IGNORE INTO mm_source_record BY NAME SELECT * EXCLUDE (_primary) "
                "FROM prov"
            )
            self._prov.clear()
            self._primary.clear()
        for name, buf in self._buffers.items():
            if not buf.n:
                continue
            batch = buf.to_arrow()  # noqa: F841
            n = con.execute(
                f'INSERT OR IGNORE INTO "{name}" BY NAME SELECT * FROM batch'
            ).fetchone()[0]
            self.report.rows_written[name] = self.report.rows_written.get(name, 0) + int(n)
            buf.clear()
        if self._quarantine.n:
            q = self._quarantine.to_arrow()  # noqa: F841
            con.execute("INSERT INTO mm_quarantine BY NAME SELECT * FROM q")
            self._quarantine.clear()
        self._pending = 0

    def _move_to_duplicate(self, record_type: str, n: int) -> None:
        """Re-count `n` already-loaded records of a type as duplicate skips."""
        # Only primary rows identify a record; secondary rows of the same record share its fate.
        c = self._counts[record_type]
        n = min(n, c.loaded)
        c.loaded -= n
        self.skip(record_type, Reason.DUPLICATE, n)

    # ---- commit / rollback ----
    def _finish_report(self, status: str) -> None:
        r = self.report
        r.status = status
        r.finished_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        r.duration_s = time.perf_counter() - self._t0
        r.counts = dict(sorted(self._counts.items()))
        r.files = len(self._files)

    def _write_load_row(self) -> None:
        r = self.report
        t = r.totals
        self.wh.con.execute(
            "INSERT INTO mm_load VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                r.load_id,
                r.source_kind,
                r.started_at,
                r.finished_at,
                r.status,
                r.files,
                t.read,
                t.loaded,
                t.skipped,
                t.quarantined,
                t.warnings,
                json.dumps(r.to_dict(), default=str),
            ],
        )

    def _commit(self) -> None:
        self.flush()
        self._finish_report("committed")
        if not self.report.reconciles:
            bad = {k: asdict(v) for k, v in self.report.counts.items() if not v.reconciles}
            raise WarehouseError(f"load {self.load_id} does not reconcile: {bad}")
        self._write_load_row()
        t = self.report.totals
        audit.append(
            self.wh.con,
            None,
            "load",
            self.source_kind,
            t.loaded,
            None,
            {"load_id": self.load_id, "quarantined": t.quarantined, "skipped": t.skipped},
        )
        self.wh.con.execute("COMMIT")
        self._active = False

    def _rollback(self) -> None:
        if not self._active:
            return
        self.wh.con.execute("ROLLBACK")
        self._active = False
        self._finish_report("rolled_back")
        # The rollback itself must not be masked by a failure to log it.
        with contextlib.suppress(Exception):
            self._write_load_row()
