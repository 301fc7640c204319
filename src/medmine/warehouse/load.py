"""The loading contract: atomic, idempotent loads where every record is loaded, skipped or
quarantined, and the counts reconcile (read = loaded + skipped + quarantined).

Every source reader (`medmine.ingest.*`) drives one `LoadSession`, the one write path: records
row by row (`LoadSession.add_record`) or column-wise (`LoadSession.add_table`), each with its
``mm_source_record`` provenance; a record that cannot be loaded raises `Rejected` inside the
reader and is quarantined with its `Reason`:

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
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from medmine.errors import LoadInterruptedError, WarehouseError
from medmine.warehouse import audit
from medmine.warehouse.connection import Warehouse
from medmine.warehouse.ids import stable_id
from medmine.warehouse.records import (
    LoadReport,
    Provenance,
    Reason,
    TableBatch,
    TypeCounts,
    Values,
    _check_batch,
    _column,
    _provenance_rows,
)
from medmine.warehouse.schema import table as table_spec
from medmine.warehouse.sql import ident

_SOURCE_RECORD = table_spec("mm_source_record")


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
    return stable_id(spec.name, "\x1f".join(str(row.get(k)) for k in spec.primary_key))


#: Buffers of at most this many rows are checked by primary-key look-ups (see
#: `LoadSession._present_keys`).
_SMALL = 1024

#: Per-row provenance fields buffered by `LoadSession.add_record` until a flush.
_PROV_FIELDS = ("table_name", "row_id", "resource_type", "source_file", "location", "source_key")


class LoadSession:
    """One atomic load into a warehouse.

    Use as a context manager. Inside, a reader calls `read` for each record it meets, then
    exactly one of `add_record` (loaded), `skip` or `quarantine`. Rows are buffered and
    flushed in batches inside a single transaction; leaving the block commits, an exception
    (including Ctrl-C) rolls everything back and records a `rolled_back` row in `mm_load`.

    Rows are inserted with ``INSERT OR IGNORE`` on the primary key, and a record whose primary
    row's provenance already exists is counted as skipped (``duplicate``), so loading the same
    input twice adds nothing. Readers holding many records at once hand them over column-wise
    with `add_table`, which applies the same rules set-wise; ``flush(wait=False)`` then lets
    DuckDB write them while the reader maps the next batch.

    ``provenance_follows_rows=True`` is a caller's promise that every ``mm_source_record`` row
    of a table keyed by one column has its row in that table (no row was deleted without its
    provenance; `medmine.ingest.hl7v2`'s listener checks it when it starts). Small flushes
    then write the provenance of rows new to their tables with a plain ``INSERT``: the
    conflict check on ``mm_source_record``'s composite key costs several times a small insert
    and grows with the table. Off by default; a broken promise fails the load.
    """

    def __init__(
        self,
        warehouse: Warehouse,
        source_kind: str,
        *,
        batch_rows: int = 50_000,
        provenance_follows_rows: bool = False,
    ):
        self.wh = warehouse
        self.source_kind = source_kind
        self.batch_rows = batch_rows
        self.provenance_follows_rows = provenance_follows_rows
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
        # Provenance of add_record's rows, column-wise until a flush builds the Arrow rows;
        # _primary says whether a row is its record's primary row. Secondary rows' provenance
        # is kept apart: it never decides whether a record is a duplicate.
        self._prov: dict[str, list[Any]] = {k: [] for k in _PROV_FIELDS}
        self._primary: list[bool] = []
        self._prov_secondary: dict[str, list[Any]] = {k: [] for k in _PROV_FIELDS}
        self._quarantine = _Buffer("mm_quarantine")
        # add_table's batches: (table, rows, their provenance), written in order by a flush,
        # perhaps on the worker thread; _queued_keys: tables with queued provenance.
        self._queue: list[tuple[str, pa.Table, pa.Table | None]] = []
        self._queued_keys: set[str] = set()
        self._queued_rows = 0
        self._writer: ThreadPoolExecutor | None = None
        self._writing: Future[dict[str, int]] | None = None
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
        secondary: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> None:
        """Load one record as rows ``[(table, row), ...]``; the first row is the primary one.

        Provenance is written for every row; the record counts as loaded (or, at flush, as a
        duplicate skip if its primary row was loaded before).

        `secondary` rows ride along: rows many records share (a person in every claim, a death
        in every yearly summary), written with ``INSERT OR IGNORE`` and, in tables keyed by one
        column, with a provenance row of their own. They never make the record a duplicate.
        """
        prov = self._prov
        for i, (name, row) in enumerate(rows):
            buf = self._buffers.get(name)
            if buf is None:
                buf = self._buffers[name] = _Buffer(name)
            buf.append(row)
            self._primary.append(i == 0)
            for k, v in zip(
                _PROV_FIELDS,
                (name, _row_key(buf.spec, row), record_type, source_file, location, source_key),
                strict=True,
            ):
                prov[k].append(v)
        for name, row in secondary:
            self.add_rows(name, row)
            pk = self._buffers[name].spec.primary_key
            if len(pk) == 1:
                values = (name, row[pk[0]], record_type, source_file, location, source_key)
                for k, v in zip(_PROV_FIELDS, values, strict=True):
                    self._prov_secondary[k].append(v)
                self._pending += 1
        self._counts[record_type].loaded += 1
        self._pending += len(rows)
        self._files.add(source_file)
        if self._pending >= self.batch_rows:
            self.flush()

    def add_table(
        self,
        name: str,
        rows: pa.Table,
        *,
        record_type: Values,
        provenance: Provenance | None = None,
        primary: bool = True,
    ) -> np.ndarray:
        """Load a batch of records column-wise: each row of `rows` is one record's primary row.

        A row whose key already has provenance (from an earlier load, or an earlier batch of
        this one) or repeats an earlier row of the batch is a duplicate: counted as skipped
        (``duplicate``) and not written. The others are counted as loaded and queued for
        writing (``INSERT OR IGNORE``, at the next `flush`), each with one ``mm_source_record``
        row built from `provenance`.

        With ``primary=False`` the rows ride along with records counted elsewhere (an address,
        claim lines, identifiers): nothing is counted or checked for duplicates, and provenance
        is written only when given. Writes keep the order of the calls (rows buffered earlier
        by `add_record` go first).

        Parameters
        ----------
        name
            Warehouse table; with ``primary=True`` or a `provenance`, its key must be one column.
        rows
            Columns of `name` (missing ones are null), e.g. from `rows_to_arrow`.
        record_type
            The record type of every row, or one per row (counts and ``resource_type``).
        provenance
            Source file, location, source key (and checksum) of every row or of each row;
            required when ``primary=True``.
        primary
            Whether each row is a record of its own (see above).

        Returns
        -------
        numpy.ndarray
            Boolean mask over `rows`, True where the row is loaded and False for duplicates,
            so that a caller can drop the dependent rows of duplicate records.

        Raises
        ------
        WarehouseError
            A column the table does not have, a composite key where one column is needed, or
            a provenance column of the wrong length.

        Examples
        --------
        >>> from medmine.warehouse import Warehouse
        >>> people = pa.table({"person_id": [1, 2, 1], "gender_concept_id": [0, 0, 0],
        ...     "year_of_birth": [1980, 1990, 1980], "race_concept_id": [0, 0, 0],
        ...     "ethnicity_concept_id": [0, 0, 0]})
        >>> with LoadSession(Warehouse(":memory:"), "example") as s:
        ...     s.read("Patient", 3)
        ...     s.add_table("person", people, record_type="Patient",
        ...                 provenance=Provenance("people.csv", ["line 2", "line 3", "line 4"]))
        array([ True,  True, False])
        >>> s.report.skip_reasons
        {'duplicate': 1}
        """
        batch = TableBatch(name, rows, record_type, provenance, primary)
        return self.add_tables([batch])[0]

    def add_tables(self, batches: Sequence[TableBatch]) -> list[np.ndarray]:
        """`add_table` for several tables at once, with one duplicate check for all of them.

        A reader that maps records into many tables (FHIR) hands over each batch's primary
        rows in one call: the check reads the provenance table once instead of once per table.
        Returns one mask per batch.
        """
        for b in batches:
            _check_batch(b)
        masks = [np.ones(b.rows.num_rows, dtype=bool) for b in batches]
        checked = [i for i, b in enumerate(batches) if b.primary and b.rows.num_rows]
        if not any(b.rows.num_rows for b in batches):
            return masks
        if self._pending or self._quarantine.n:
            self._write_buffers()  # rows added before this call go in first
        if checked:
            self._wait()
            if any(batches[i].name in self._queued_keys for i in checked):
                self._write_queue()  # the check must see these tables' earlier batches
            new = self._new_keys([batches[i] for i in checked])
            for i, keep in zip(checked, new, strict=True):
                masks[i] = keep
                b = batches[i]
                self._count_batch(_column(b.record_type, b.rows.num_rows, pa.string()), keep)
        for b, keep in zip(batches, masks, strict=True):
            self._queue_batch(b, keep)
        if self._queued_rows >= self.batch_rows:
            self.flush()
        return masks

    def _queue_batch(self, b: TableBatch, keep: np.ndarray) -> None:
        """Queue a batch's kept rows, and their provenance rows, for the next flush."""
        n = b.rows.num_rows
        sel = None if keep.all() else pa.array(keep)
        out = b.rows if sel is None else b.rows.filter(sel)
        if not out.num_rows:
            return
        prov = None
        if b.provenance is not None:

            def kept(v: Values) -> Values:
                if sel is None or v is None or isinstance(v, str):
                    return v
                return _column(v, n, pa.string()).filter(sel)

            p, m = b.provenance, out.num_rows
            source = Provenance(
                kept(p.source_file), kept(p.location), kept(p.source_key), kept(p.checksum)
            )
            key = table_spec(b.name).primary_key[0]
            prov = _provenance_rows(self.load_id, b.name, out[key], kept(b.record_type), source, m)
            self._queued_keys.add(b.name)
            if isinstance(source.source_file, str):
                self._files.add(source.source_file)
            elif source.source_file is not None:
                files = _column(source.source_file, m, pa.string())
                self._files.update(files.unique().to_pylist())
        self._queue.append((b.name, out, prov))
        self._queued_rows += out.num_rows

    def add_provenance(
        self,
        name: str,
        row_ids: pa.Array | pa.ChunkedArray,
        *,
        record_type: Values,
        provenance: Provenance,
    ) -> None:
        """Write the ``mm_source_record`` rows of rows a reader inserted set-wise in SQL.

        One provenance row per id in `row_ids` (keys of table `name`); an id that already has
        one keeps it. Batches queued by `add_table` are written first.
        """
        n = len(row_ids)
        if not n:
            return
        self._write_queue()
        prov = _provenance_rows(  # noqa: F841  (read by DuckDB's replacement scan)
            self.load_id, name, row_ids, record_type, provenance, n
        )
        self.wh.con.execute(_SOURCE_RECORD.insert_new_sql("prov"))

    def _new_keys(self, batches: list[TableBatch]) -> list[np.ndarray]:
        """For each batch of primary rows, the mask of rows that are no duplicates.

        A duplicate repeats an earlier key of its table in these batches, or has provenance
        in the warehouse already. One query covers every batch.
        """
        sizes = [b.rows.num_rows for b in batches]
        keys = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
            {
                "b": pa.array(np.repeat(np.arange(len(batches)), sizes)),
                "i": pa.array(np.concatenate([np.arange(n) for n in sizes])),
                "t": pa.array(np.repeat([b.name for b in batches], sizes)),
                "id": pa.concat_arrays(
                    [
                        _column(b.rows[table_spec(b.name).primary_key[0]], n, pa.int64())
                        for b, n in zip(batches, sizes, strict=True)
                    ]
                ),
            }
        )
        dup = self.wh.con.execute(
            "SELECT b, i FROM (SELECT *, row_number() OVER (PARTITION BY t, id ORDER BY b, i) "
            "AS k FROM keys) x WHERE k > 1 UNION ALL SELECT x.b, x.i FROM keys x "
            "SEMI JOIN mm_source_record s ON s.table_name = x.t AND s.row_id = x.id"
        ).fetchnumpy()
        masks = [np.ones(n, dtype=bool) for n in sizes]
        for b, i in zip(dup["b"].tolist(), dup["i"].tolist(), strict=True):
            masks[b][i] = False
        return masks

    def _count_batch(self, types: pa.Array, keep: np.ndarray) -> None:
        """Count a batch's records by type: loaded where `keep`, duplicate skips elsewhere."""
        for loaded, mask in ((True, keep), (False, ~keep)):
            if not mask.any():
                continue
            for item in pc.value_counts(types.filter(pa.array(mask))).to_pylist():
                rtype, k = item["values"], int(item["counts"])
                if loaded:
                    self._counts[rtype].loaded += k
                else:
                    self.skip(rtype, Reason.DUPLICATE, k)

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
        self._wait()
        self.wh.con.execute(
            "INSERT OR IGNORE INTO mm_load_file VALUES (?, ?, ?, ?, ?, ?)",
            [sha256, self.source_kind, self.load_id, path, size_bytes, records_read],
        )
        self._files.add(path)

    # ---- flushing ----
    def flush(self, *, wait: bool = True) -> None:
        """Write buffered rows to the warehouse (inside the load's transaction).

        With ``wait=False`` the batches given to `add_table` are written by a worker thread
        while the caller goes on (DuckDB releases the GIL while it inserts). The session waits
        for that write before it next uses the connection; a reader that queries ``wh.con``
        itself calls `flush()` first.
        """
        self._wait()
        if wait or self._pending or self._quarantine.n:
            self._write_queue()
            self._write_buffers()
        elif self._queue:
            queue, self._queue = self._queue, []
            self._queued_keys.clear()
            self._queued_rows = 0
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="load-writer")
            self._writing = self._writer.submit(self._insert, queue)

    def _wait(self) -> None:
        """Wait for the worker's write; its rows count as written, its error is raised here."""
        writing, self._writing = self._writing, None
        if writing is not None:
            self._count_written(writing.result())

    def _write_queue(self) -> None:
        """Write the queued `add_table` batches now, on this thread."""
        self._wait()
        if self._queue:
            queue, self._queue = self._queue, []
            self._queued_keys.clear()
            self._queued_rows = 0
            self._count_written(self._insert(queue))

    def _insert(self, queue: list[tuple[str, pa.Table, pa.Table | None]]) -> dict[str, int]:
        """Insert queued batches and their provenance; returns rows written per table."""
        con = self.wh.con
        written: dict[str, int] = {}
        for name, batch, _ in queue:  # noqa: B007  (read by DuckDB's replacement scan)
            n = con.execute(table_spec(name).insert_new_sql("batch")).fetchone()[0]
            written[name] = written.get(name, 0) + int(n)
        provs = [prov for _, _, prov in queue if prov is not None]
        if provs:
            prov = pa.concat_tables(provs)  # noqa: F841  (one statement for the whole queue)
            con.execute(_SOURCE_RECORD.insert_new_sql("prov"))
        return written

    def _count_written(self, written: dict[str, int]) -> None:
        for name, n in written.items():
            self.report.rows_written[name] = self.report.rows_written.get(name, 0) + n

    def _present_keys(self) -> dict[str, set[Any]]:
        """For small buffers of tables keyed by one column: the buffered keys already stored.

        Each is one primary-key ``IN`` look-up (an index scan, whatever the table's size).
        Larger buffers and composite keys are left out (the set-wise path handles them).
        """
        found: dict[str, set[Any]] = {}
        for name, buf in self._buffers.items():
            pk = buf.spec.primary_key
            if not buf.n or buf.n > _SMALL or len(pk) != 1:
                continue
            keys = list(set(buf.cols[pk[0]]))
            if None in keys:
                continue
            marks = ", ".join("?" * len(keys))
            got = self.wh.con.execute(
                f"SELECT {ident(pk[0])} FROM {ident(name)} WHERE {ident(pk[0])} IN ({marks})", keys
            ).fetchall()
            found[name] = {k for (k,) in got}
        return found

    def _small_duplicates(self, present: dict[str, set[Any]]) -> list[tuple[str, int]] | None:
        """`_write_buffers`' duplicate count by record type for a small flush, or None.

        Provenance is only written next to its row, so a primary row absent from its table
        has none; only rows already present (resends) need the provenance look-up, which
        scans. None when a primary table was not looked up (use the set-wise query).
        """
        cols = self._prov
        dups: dict[str, int] = defaultdict(int)
        seen: set[tuple[str, Any]] = set()
        stored: dict[str, list[tuple[Any, str]]] = defaultdict(list)
        for name, rid, rtype, primary in zip(
            cols["table_name"], cols["row_id"], cols["resource_type"], self._primary, strict=True
        ):
            if not primary:
                continue
            if name not in present:
                return None
            if (name, rid) in seen:
                dups[rtype] += 1
                continue
            seen.add((name, rid))
            if rid in present[name]:
                stored[name].append((rid, rtype))
        for name, pairs in stored.items():
            marks = ", ".join("?" * len(pairs))
            got = self.wh.con.execute(
                f"SELECT row_id FROM mm_source_record WHERE table_name = ? AND row_id IN ({marks})",
                [name, *(rid for rid, _ in pairs)],
            ).fetchall()
            with_provenance = {r for (r,) in got}
            for rid, rtype in pairs:
                if rid in with_provenance:
                    dups[rtype] += 1
        return list(dups.items())

    def _provenance_is_new(self, present: dict[str, set[Any]]) -> bool:
        """Whether no buffered provenance row can exist yet (see ``provenance_follows_rows``):
        each names a row absent from its table (looked up in `present`), none twice.
        """
        if not self.provenance_follows_rows:
            return False
        seen: set[tuple[str, Any]] = set()
        for cols in (self._prov, self._prov_secondary):
            for name, rid in zip(cols["table_name"], cols["row_id"], strict=True):
                if name not in present or rid in present[name] or (name, rid) in seen:
                    return False
                seen.add((name, rid))
        return True

    def _write_buffers(self) -> None:
        """Write the rows buffered by `add_record`, `add_rows` and `quarantine`."""
        self._wait()
        con = self.wh.con
        present = self._present_keys()
        new_prov = self._provenance_is_new(present)

        def insert_prov(source: str) -> str:
            if new_prov:
                return f"INSERT INTO mm_source_record BY NAME SELECT * FROM {source}"
            return _SOURCE_RECORD.insert_new_sql(source)

        if self._primary:
            prov = self._provenance(self._prov).append_column(  # noqa: F841  (DuckDB scan)
                "_primary", pa.array(self._primary, pa.bool_())
            )
            # A record is a duplicate when its primary row was loaded before, or when an
            # earlier record of this batch has the same primary row. Secondary rows (a shared
            # person, a location) never decide: they are simply not inserted twice.
            dups = self._small_duplicates(present)
            if dups is None:
                dups = con.execute(
                    "WITH p AS (SELECT *, row_number() OVER (PARTITION BY table_name, row_id) "
                    "AS k FROM prov WHERE _primary) "
                    "SELECT p.resource_type, count(*) FROM p WHERE p.k > 1 OR EXISTS (SELECT 1 "
                    "FROM mm_source_record s WHERE s.table_name = p.table_name "
                    "AND s.row_id = p.row_id) GROUP BY 1"
                ).fetchall()
            for rtype, n in dups:
                self._move_to_duplicate(rtype, int(n))
            con.execute(insert_prov("(SELECT * EXCLUDE (_primary) FROM prov)"))
            del prov
            for v in self._prov.values():
                v.clear()
            self._primary.clear()
        if self._prov_secondary["table_name"]:
            prov2 = self._provenance(self._prov_secondary)  # noqa: F841
            n = con.execute(insert_prov("prov2")).fetchone()[0]
            del prov2
            # Counted in rows_written as secondary rows always were (primary provenance is not).
            written = self.report.rows_written
            written["mm_source_record"] = written.get("mm_source_record", 0) + int(n)
            for v in self._prov_secondary.values():
                v.clear()
        for name, buf in self._buffers.items():
            if not buf.n:
                continue
            batch = buf.to_arrow()  # noqa: F841
            # None of the keys stored yet, none repeated: a plain INSERT (ON CONFLICT costs
            # several times a small INSERT's planning and execution)
            plain = name in present and not present[name]
            if plain:
                keys = buf.cols[buf.spec.primary_key[0]]
                plain = len(set(keys)) == len(keys)
            sql = (
                f"INSERT INTO {ident(name)} BY NAME SELECT * FROM batch"
                if plain
                else buf.spec.insert_new_sql("batch")
            )
            n = con.execute(sql).fetchone()[0]
            self.report.rows_written[name] = self.report.rows_written.get(name, 0) + int(n)
            buf.clear()
        if self._quarantine.n:
            q = self._quarantine.to_arrow()  # noqa: F841
            con.execute("INSERT INTO mm_quarantine BY NAME SELECT * FROM q")
            self._quarantine.clear()
        self._pending = 0

    def _provenance(self, cols: dict[str, list[Any]]) -> pa.Table:
        """Provenance rows of buffered per-row provenance fields."""
        source = Provenance(cols["source_file"], cols["location"], cols["source_key"])
        n = len(cols["table_name"])
        return _provenance_rows(
            self.load_id, cols["table_name"], cols["row_id"], cols["resource_type"], source, n
        )

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
        self._stop_writer()
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

    def _stop_writer(self) -> None:
        """Let a running write finish (its outcome no longer matters) and stop the worker."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.exception()  # waits; a failed write is moot once the load is rolled back
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def _rollback(self) -> None:
        self._stop_writer()  # the connection must be idle before ROLLBACK
        if not self._active:
            return
        self.wh.con.execute("ROLLBACK")
        self._active = False
        self._finish_report("rolled_back")
        # The rollback itself must not be masked by a failure to log it.
        with contextlib.suppress(Exception):
            self._write_load_row()
