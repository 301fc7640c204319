"""Stage FHIR files as a table of raw resources (one JSON text per row) for ViewDefinitions.

The same readers as the loader (BOM, gzip with truncation kept, Bundles and NDJSON), without
any mapping: each resource becomes one row of ``(source_file, location, resource)``. Problems
are collected, never raised per record: a line that is not JSON, an entry that is not an
object, a file that cannot be read or that holds no resource.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from medmine.errors import SourceError
from medmine.ingest.fhir._read import Source, bundle_document, discover, is_ndjson, ndjson_lines
from medmine.warehouse.sql import ident, literal

_BATCH = 50_000
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class StageProblem:
    """One input (or one record of it) that could not be staged, and why (no data values)."""

    source_file: str
    location: str
    reason: str
    file_level: bool = False


@dataclass
class StageReport:
    """What staging read: files, resources staged, and the problems met."""

    files: int = 0
    resources: int = 0
    problems: list[StageProblem] = field(default_factory=list)

    @property
    def failed_files(self) -> list[StageProblem]:
        """Inputs that could not be read at all or gave no resource."""
        return [p for p in self.problems if p.file_level]


def _resources(path: Path, report: StageReport) -> Iterator[tuple[str, str, bytes]]:
    """Yield ``(location, resourceType, json_text)`` for each resource of one file."""
    name = str(path)
    where = "file"
    with Source(path) as src:
        if is_ndjson(path):
            for n, obj, raw in ndjson_lines(src):
                where = f"line {n}"
                if type(obj) is tuple:
                    report.problems.append(StageProblem(name, where, "line is not valid JSON"))
                elif not isinstance(obj, dict) or not isinstance(obj.get("resourceType"), str):
                    report.problems.append(StageProblem(name, where, "not a FHIR resource"))
                else:
                    text = raw.strip()
                    yield where, obj["resourceType"], text[3:] if text.startswith(_BOM) else text
            return
        doc, _ = bundle_document(src)
        if not isinstance(doc, dict) or not isinstance(doc.get("resourceType"), str):
            raise SourceError(name, "neither a Bundle nor a FHIR resource (no resourceType)")
        if doc["resourceType"] != "Bundle":
            yield "resource", doc["resourceType"], orjson.dumps(doc)
            return
        entries = doc.get("entry") or []
        if not isinstance(entries, list):
            raise SourceError(name, "Bundle.entry is not a list")
        for i, e in enumerate(entries):
            res = e.get("resource") if isinstance(e, dict) else None
            if res is None and isinstance(e, dict):
                continue  # a request- or response-only entry: no resource, not a problem
            if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
                report.problems.append(StageProblem(name, f"entry[{i}]", "not a FHIR resource"))
                continue
            try:
                yield f"entry[{i}]", res["resourceType"], orjson.dumps(res)
            except TypeError:  # an integer beyond 64 bits
                report.problems.append(StageProblem(name, f"entry[{i}]", "number out of range"))


def _file_resources(path: Path, report: StageReport) -> Iterator[tuple[str, str, bytes]]:
    """`_resources`, turning file-level failures into problems (the rest of the file kept)."""
    name, last, n = str(path), "", 0
    try:
        for item in _resources(path, report):
            last, n = item[0], n + 1
            yield item
    except SourceError as exc:
        report.problems.append(StageProblem(name, "file", exc.reason, True))
        return
    except gzip.BadGzipFile:
        report.problems.append(StageProblem(name, "file", "not a gzip file", True))
        return
    except EOFError:
        why = "compressed stream ends early (truncated file)"
        if last:
            why += f"; every resource up to {last} was read"
        report.problems.append(StageProblem(name, "file", why, n == 0))
        return
    except zlib.error:
        report.problems.append(StageProblem(name, "file", "corrupt compressed data", n == 0))
        return
    except OSError as exc:
        why = f"cannot be read ({exc.strerror or 'I/O error'})"
        report.problems.append(StageProblem(name, "file", why, True))
        return
    if n == 0:
        report.problems.append(StageProblem(name, "file", "no FHIR resource in it", True))


def stage_files(
    paths: Iterable[str | Path],
    con: Any,
    table: str = "resources",
    *,
    resource_type: str | None = None,
) -> StageReport:
    """Read FHIR files into a new DuckDB table ``table(source_file, location, resource)``.

    Parameters
    ----------
    paths
        Files (``.json``, ``.json.gz``, ``.ndjson``, ``.ndjson.gz``) or folders of them.
    con
        A DuckDB connection; `table` is created there (replaced if it exists, as a temp table).
    resource_type
        Keep only resources of this type (a ViewDefinition's ``resource``).

    Returns
    -------
    StageReport
        Resources staged and problems (a bad line, an unreadable or empty file).

    Raises
    ------
    SourceError
        A path does not exist, or a folder holds no FHIR file.

    >>> import duckdb
    >>> stage_files(["tests/data/fhir/bulk"], duckdb.connect()).resources  # doctest: +SKIP
    20
    """
    files = discover(list(paths))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(table)} "
        "(source_file VARCHAR, location VARCHAR, resource VARCHAR)"
    )
    report = StageReport(files=len(files))
    cols: tuple[list[str], list[str], list[str]] = ([], [], [])

    def flush() -> None:
        if not cols[0]:
            return
        batch = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
            {"source_file": cols[0], "location": cols[1], "resource": cols[2]}
        )
        con.execute(f"INSERT INTO {ident(table)} SELECT * FROM batch")
        report.resources += len(cols[0])
        for c in cols:
            c.clear()

    for path in files:
        name = str(path)
        for loc, rtype, text in _file_resources(path, report):
            if resource_type is not None and rtype != resource_type:
                continue
            cols[0].append(name)
            cols[1].append(loc)
            cols[2].append(text.decode("utf-8", "replace"))
            if len(cols[0]) >= _BATCH:
                flush()
    flush()
    return report


def stage_warehouse(
    con: Any,
    table: str = "resources",
    *,
    resource_type: str | None = None,
    load_id: str | None = None,
) -> int:
    """Make ``table(source_file, location, resource)`` a temp view of the warehouse's raw store.

    A resource stored verbatim several times (a Practitioner repeated in every Bundle that
    uses it, a file loaded from two paths) appears once; two versions of one resource that
    differ in content both appear. Returns the number of resources in the view.
    """
    where = []
    if resource_type is not None:
        where.append(f"resource_type = {literal(resource_type)}")
    if load_id is not None:
        where.append(f"load_id = {literal(load_id)}")
    cond = f"WHERE {' AND '.join(where)}" if where else ""
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {ident(table)} AS SELECT min(source_file) AS source_file,"
        " arg_min(location, source_file) AS location, any_value(resource) AS resource "
        f"FROM mm_fhir_resource {cond} GROUP BY checksum, resource_type"
    )
    return int(con.execute(f"SELECT count(*) FROM {ident(table)}").fetchall()[0][0])
