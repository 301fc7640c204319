"""Load an OHDSI Athena vocabulary download into the warehouse's vocabulary tables.

Athena (https://athena.ohdsi.org) ships the OMOP vocabularies as tab-separated files with a
header row, no quoting (concept names may contain quotes) and dates written ``YYYYMMDD``:
``CONCEPT.csv``, ``CONCEPT_RELATIONSHIP.csv``, ``CONCEPT_ANCESTOR.csv``, ... Each file whose
table the warehouse schema declares (role ``vocabulary``) is read by DuckDB's CSV reader with
the column types of that table; the others are listed as not loaded.

The whole load is one `LoadSession` (one transaction, one ``mm_load`` row, counts that
reconcile per file: read = loaded + skipped + quarantined). Lines the reader cannot take
(wrong number of columns, a value of the wrong type, a date not ``YYYYMMDD``) go to
``mm_quarantine`` with their file, line and reason. Rows are upserted on the table's primary
key, so loading the same folder again adds nothing, and loading a newer release updates the
concepts that changed. Finally the warehouse's unmapped source codes are mapped to standard
concepts (`medmine.quality.concept_map`), in the same transaction.

>>> from medmine.warehouse import Warehouse
>>> result = load_vocabulary("athena/", Warehouse("medmine.duckdb"))  # doctest: +SKIP
>>> result.files[0].file, result.mapping.mapped  # doctest: +SKIP
('CONCEPT.csv', 51234)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from medmine.errors import SourceError
from medmine.quality.concept_map import ConceptMapping, map_codes
from medmine.warehouse import LoadReport, LoadSession, Reason, TableSpec, Warehouse
from medmine.warehouse.schema import TABLES
from medmine.warehouse.sql import ident, literal

__all__ = ["ATHENA_FILES", "FileLoad", "VocabularyLoad", "check_folder", "load_vocabulary"]

#: The tables of an Athena download, in load order; each comes as ``<NAME>.csv``.
ATHENA_FILES = (
    "VOCABULARY",
    "DOMAIN",
    "CONCEPT_CLASS",
    "RELATIONSHIP",
    "CONCEPT",
    "CONCEPT_RELATIONSHIP",
    "CONCEPT_ANCESTOR",
    "CONCEPT_SYNONYM",
    "DRUG_STRENGTH",
)
#: How DuckDB's CSV reader reads Athena's layout (the path and the columns are bound).
_READ = (
    "read_csv(?, columns = ?, force_not_null = ?, header = true, auto_detect = false, "
    "delim = '\t', quote = '', escape = '', dateformat = '%Y%m%d', store_rejects = true, "
    "rejects_table = '_athena_rejects', rejects_scan = '_athena_scans')"
)
#: What an Athena folder holds, for error messages.
_EXPECTED = (
    "expected the folder unzipped from the Athena vocabulary download (tab-separated "
    "CONCEPT.csv, CONCEPT_RELATIONSHIP.csv, CONCEPT_ANCESTOR.csv, ...)"
)
_HINT = "download the vocabularies from https://athena.ohdsi.org, unzip them and give that folder"


@dataclass(frozen=True)
class FileLoad:
    """What became of one Athena file: lines read, rows inserted, updated, unchanged, rejected.

    ``unchanged`` counts rows already in the warehouse with the same values and repeated keys
    within the file; ``rejected`` lines are in ``mm_quarantine``. A file whose table the
    warehouse does not have is listed with ``table=None`` and a `note`.
    """

    file: str
    table: str | None
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    note: str = ""


@dataclass
class VocabularyLoad:
    """The result of `load_vocabulary`: per-file counts, the mapping pass, the load report."""

    folder: str
    report: LoadReport
    files: list[FileLoad] = field(default_factory=list)
    mapping: ConceptMapping = field(default_factory=ConceptMapping)

    @property
    def rejected(self) -> int:
        """Lines set aside in ``mm_quarantine``."""
        return sum(f.rejected for f in self.files)


def _vocabulary_tables() -> dict[str, TableSpec]:
    return {t.name: t for t in TABLES if t.role == "vocabulary"}


def _find(folder: Path) -> dict[str, Path]:
    """Athena files in `folder` by table name (file names matched case-insensitively)."""
    wanted = {f"{n.lower()}.csv": n.lower() for n in ATHENA_FILES}
    return {wanted[p.name.lower()]: p for p in sorted(folder.iterdir()) if p.name.lower() in wanted}


def _header(path: Path, spec: TableSpec) -> list[str]:
    """Column names of `path`'s header row, checked against `spec` (all its columns present)."""
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline().rstrip("\r\n")
    names = [c.strip().lower() for c in first.split("\t")] if first else []
    missing = [c for c in spec.column_names if c not in names]
    if missing or len(set(names)) != len(names):
        if not first:
            given = "an empty file"
        elif len(names) == 1 and "," in first:
            given = "a header without tabs (comma-separated?)"
        elif missing:
            given = f"a header of {len(names)} column(s) without {', '.join(missing)}"
        else:
            given = "a header naming a column twice"
        raise SourceError(
            str(path),
            f"not Athena's {path.name} layout: expected a tab-separated header row with "
            f"{', '.join(spec.column_names)}; given {given}",
            "give the files of the Athena download unchanged",
        )
    return names


def check_folder(folder: str | Path) -> list[tuple[str, Path]]:
    """The Athena files of `folder` in load order, as (table name, path), headers checked.

    Raises
    ------
    SourceError
        When `folder` does not exist, is a file, has no ``CONCEPT.csv``, or a file whose table
        the warehouse has does not start with Athena's header row for it.
    """
    folder = Path(folder)
    if not folder.exists():
        raise SourceError(str(folder), f"no such folder; {_EXPECTED}", "check the path")
    if not folder.is_dir():
        raise SourceError(str(folder), f"is a file; {_EXPECTED}", _HINT)
    found = _find(folder)
    if "concept" not in found:
        others = sum(1 for p in folder.iterdir() if p.is_file())
        raise SourceError(
            str(folder), f"no CONCEPT.csv among its {others} file(s); {_EXPECTED}", _HINT
        )
    tables = _vocabulary_tables()
    plan = [(n.lower(), found[n.lower()]) for n in ATHENA_FILES if n.lower() in found]
    for name, file in plan:
        if name in tables:
            _header(file, tables[name])
    return plan


def _columns(names: list[str], spec: TableSpec) -> dict[str, str]:
    """read_csv's ``columns``: the header's columns in file order, typed as the table's."""
    declared = {c.name: c.sql_type for c in spec.columns}
    return {n: declared.get(n, "VARCHAR") for n in names}


def _quarantine_rejects(s: LoadSession, path: Path, spec: TableSpec) -> tuple[int, str | None]:
    """Move the reader's rejected lines into ``mm_quarantine``; (lines, first line's problem).

    Messages name the column and what was expected, never the value (the raw line is kept in
    ``record`` so it can be fixed and loaded again).
    """
    con = s.wh.con
    expected = " ".join(
        f"WHEN {literal(c.name)} THEN "
        + literal("a YYYYMMDD date" if c.type == "date" else f"of type {c.sql_type}")
        for c in spec.columns
    )
    problem = (
        "CASE WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') THEN "
        f"'expected {len(spec.columns)} tab-separated columns, found ' || "
        "len(string_split(csv_line, chr(9))) "
        f"WHEN error_type = 'CAST' THEN column_name || ' is not ' || CASE column_name {expected} "
        "ELSE 'of its type' END ELSE lower(CAST(error_type AS VARCHAR)) END"
    )
    dates = ", ".join(literal(c.name) for c in spec.columns if c.type == "date") or "NULL"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _athena_bad AS
        SELECT line, any_value(csv_line) AS csv_line,
               CASE WHEN bool_or(error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS'))
                         THEN '{Reason.MALFORMED}'
                    WHEN bool_and(error_type = 'CAST' AND column_name IN ({dates}))
                         THEN '{Reason.INVALID_DATE}'
                    WHEN bool_and(error_type = 'CAST') THEN '{Reason.INVALID_VALUE}'
                    ELSE '{Reason.MALFORMED}' END AS reason,
               'line ' || line || ': ' || string_agg(DISTINCT problem, '; ' ORDER BY problem)
                   AS problem
        FROM (SELECT *, {problem} AS problem FROM _athena_rejects) r
        GROUP BY line
        """
    )
    n = int(con.execute("SELECT count(*) FROM _athena_bad").fetchone()[0])
    if not n:
        return 0, None
    base = s.reserve_quarantine_ids(n)
    con.execute(
        "INSERT INTO mm_quarantine SELECT ? + row_number() OVER (ORDER BY line), ?, ?, "
        "'line ' || line, ?, reason, ? || ' ' || problem, csv_line, CAST(now() AS TIMESTAMP) "
        "FROM _athena_bad",
        [base, s.load_id, path.name, spec.name, path.name],
    )
    for why, k in con.execute(
        "SELECT reason, count(*) FROM _athena_bad GROUP BY 1 ORDER BY 1"
    ).fetchall():
        s.tally(spec.name, quarantined=int(k), reason=why)
    first = con.execute("SELECT problem FROM _athena_bad ORDER BY line LIMIT 1").fetchone()[0]
    return n, first


def _upsert(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> tuple[int, int]:
    """Write ``_athena_stg`` into `spec`'s table on its primary key; (inserted, updated)."""
    t = ident(spec.name)
    cols = ", ".join(ident(c) for c in spec.column_names)
    key = " AND ".join(f"{t}.{ident(k)} = s.{ident(k)}" for k in spec.primary_key)
    others = [c for c in spec.column_names if c not in spec.primary_key]
    pk = ", ".join(ident(k) for k in spec.primary_key)
    # The first line of a key wins when a file repeats it.
    first = f"(SELECT DISTINCT ON ({pk}) {cols} FROM _athena_stg ORDER BY {pk}, _n)"
    updated = 0
    if others and con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {t} LIMIT 1)").fetchone()[0]:
        differs = " OR ".join(f"{t}.{ident(c)} IS DISTINCT FROM s.{ident(c)}" for c in others)
        updated = int(
            con.execute(
                f"UPDATE {t} SET {', '.join(f'{ident(c)} = s.{ident(c)}' for c in others)} "
                f"FROM {first} s WHERE {key} AND ({differs})"
            ).fetchone()[0]
        )
    inserted = int(
        con.execute(f"INSERT OR IGNORE INTO {t} ({cols}) SELECT {cols} FROM {first}").fetchone()[0]
    )
    return inserted, updated


def _load_file(s: LoadSession, path: Path, spec: TableSpec) -> FileLoad:
    con = s.wh.con
    names = _header(path, spec)
    required = [c.name for c in spec.columns if c.required]
    for tmp in ("_athena_rejects", "_athena_scans", "_athena_stg"):
        con.execute(f"DROP TABLE IF EXISTS {tmp}")
    try:
        con.execute(
            f"CREATE TEMP TABLE _athena_stg AS SELECT row_number() OVER () AS _n, * FROM {_READ}",
            [str(path), _columns(names, spec), required],
        )
        good = int(con.execute("SELECT count(*) FROM _athena_stg").fetchone()[0])
        rejected, first = _quarantine_rejects(s, path, spec)
        s.read(spec.name, good + rejected)
        if not good and rejected:
            raise SourceError(
                str(path),
                f"no line could be read ({first}); expected Athena's layout: a header row, "
                "values separated by tabs, no quoting, dates as YYYYMMDD",
                "give the files of the Athena download unchanged",
            )
        inserted, updated = _upsert(con, spec)
    except duckdb.Error as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        raise SourceError(
            str(path), f"cannot be read as an Athena file: {first_line}", _HINT
        ) from exc
    finally:
        for tmp in ("_athena_rejects", "_athena_scans", "_athena_stg", "_athena_bad"):
            con.execute(f"DROP TABLE IF EXISTS {tmp}")
    unchanged = good - inserted - updated
    s.tally(spec.name, loaded=inserted + updated, skipped=unchanged, reason=Reason.DUPLICATE)
    written = s.report.rows_written
    written[spec.name] = written.get(spec.name, 0) + inserted + updated
    return FileLoad(path.name, spec.name, good + rejected, inserted, updated, unchanged, rejected)


def load_vocabulary(
    folder: str | Path,
    warehouse: Warehouse,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> VocabularyLoad:
    """Load the Athena download in `folder` into `warehouse`, then map its source codes.

    Parameters
    ----------
    folder
        The unzipped Athena download (``CONCEPT.csv`` at least).
    warehouse
        The warehouse, opened writable.
    progress
        Called as ``progress(step, done, total)`` after each file and after mapping.

    Raises
    ------
    SourceError
        When `folder` is not an Athena folder (no ``CONCEPT.csv``), a file's header is not
        Athena's, a file cannot be read or none of its lines parses, or ``CONCEPT.csv`` holds
        no concept. Headers are checked before anything is written; any failure rolls the whole
        load back.
    """
    path = Path(folder)
    plan = check_folder(path)
    tables = _vocabulary_tables()
    steps = len(plan) + 1
    with LoadSession(warehouse, "athena") as session:
        result = VocabularyLoad(str(path), session.report)
        for i, (name, file) in enumerate(plan, 1):
            spec = tables.get(name)
            if spec is None:
                note = f"not loaded: the warehouse schema has no {name} table"
                result.files.append(FileLoad(file.name, None, note=note))
            else:
                loaded = _load_file(session, file, spec)
                if name == "concept" and not loaded.read:
                    raise SourceError(str(file), "holds no concept (only a header row)", _HINT)
                result.files.append(loaded)
            if progress:
                progress(file.name, i, steps)
        result.mapping = map_codes(warehouse.con)
        if progress:
            progress("mapping source codes", steps, steps)
    return result
