"""Set-wise writing of mapped records inside a `LoadSession`'s transaction.

Mapped rows are kept as dicts per table and turned into Arrow in one call per table and batch
(``pa.Table.from_pylist``), which is several times cheaper than appending every column of every
row in Python. Each row of a record gets its provenance row (``mm_source_record``: file,
location, resource type, ``Type/id``, load id) exactly as `LoadSession.add_record` writes it,
and the record is counted through `LoadSession.tally`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, NamedTuple

import pyarrow as pa

from medmine.errors import WarehouseError
from medmine.warehouse import LoadSession, Reason, table


class Writer:
    """Buffers loaded records and writes them, with provenance, in batches."""

    def __init__(self, session: LoadSession) -> None:
        self.s = session
        self.con = session.wh.con
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._prov: dict[str, list[Any]] = {
            k: [] for k in ("table_name", "row_id", "source_file", "location", "resource_type")
        }
        self._prov["source_key"] = []
        self._loaded: Counter[str] = Counter()
        self._pk: dict[str, str | None] = {}
        self._schemas: dict[str, pa.Schema] = {}

    def _key_column(self, name: str) -> str | None:
        if name not in self._pk:
            spec = table(name)
            self._pk[name] = spec.primary_key[0] if len(spec.primary_key) == 1 else None
            self._schemas[name] = spec.arrow_schema()
        return self._pk[name]

    def add(
        self,
        rtype: str,
        rows: list[tuple[str, dict[str, Any]]],
        extra: list[tuple[str, dict[str, Any]]],
        source_file: str,
        location: str,
        source_key: str,
        warnings: int,
    ) -> None:
        """Buffer one loaded record: its rows (with provenance) and its extra rows (without)."""
        p = self._prov
        for name, row in rows:
            pk = self._key_column(name)
            self.rows[name].append(row)
            p["table_name"].append(name)
            p["row_id"].append(row[pk] if pk else None)
            p["source_file"].append(source_file)
            p["location"].append(location)
            p["resource_type"].append(rtype)
            p["source_key"].append(source_key)
        for name, row in extra:
            self._key_column(name)
            self.rows[name].append(row)
        self._loaded[rtype] += 1
        if warnings:
            self.s.warn(rtype, Reason.UNRESOLVED_REFERENCE, warnings)

    def add_row(self, name: str, row: dict[str, Any]) -> None:
        """Buffer a row that belongs to no single record (a source concept)."""
        self._key_column(name)
        self.rows[name].append(row)

    def take(self) -> _Snapshot:
        """Hand over the buffered rows (and count their records as loaded); buffers restart."""
        snap = _Snapshot(dict(self.rows), self._prov)
        self.rows = defaultdict(list)
        self._prov = {k: [] for k in self._prov}
        for rtype, n in self._loaded.items():
            self.s.tally(rtype, loaded=n)
        self._loaded.clear()
        return snap

    def write(self, snap: _Snapshot) -> dict[str, int]:
        """Insert a snapshot's rows and provenance; returns rows written per table.

        Runs on a worker thread while the next batch is mapped: DuckDB releases the GIL while
        it inserts. The caller never uses the connection until this has returned.
        """
        con = self.con
        written: dict[str, int] = {}
        for name, rows in snap.rows.items():
            if not rows:
                continue
            schema = self._schemas[name]
            unknown = set().union(*map(dict.keys, rows)) - set(schema.names)
            if unknown:
                raise WarehouseError(f"{name} has no column(s) {sorted(unknown)}")
            # Read by DuckDB's replacement scan: `con.register` inside a transaction keeps
            # every registered Arrow table alive until commit (memory would grow with input).
            fhir_rows = pa.Table.from_pylist(rows, schema=schema)  # noqa: F841
            n = con.execute(
                f'INSERT OR IGNORE INTO "{name}" BY NAME SELECT * FROM fhir_rows'
            ).fetchone()[0]
            del fhir_rows
            written[name] = int(n)
        p = snap.prov
        if p["table_name"]:
            n = len(p["table_name"])
            fhir_prov = pa.table(  # noqa: F841
                {
                    "table_name": pa.array(p["table_name"], pa.string()),
                    "row_id": pa.array(p["row_id"], pa.int64()),
                    "load_id": pa.repeat(pa.scalar(self.s.load_id), n),
                    "source_file": pa.array(p["source_file"], pa.string()),
                    "location": pa.array(p["location"], pa.string()),
                    "resource_type": pa.array(p["resource_type"], pa.string()),
                    "source_key": pa.array(p["source_key"], pa.string()),
                }
            )
            con.execute("INSERT OR IGNORE INTO mm_source_record BY NAME SELECT * FROM fhir_prov")
            del fhir_prov
        return written


class _Snapshot(NamedTuple):
    rows: dict[str, list[dict[str, Any]]]
    prov: dict[str, list[Any]]
