"""Write the rows of set-wise mappings (`_viewmap`) into the warehouse, with the loader's rules.

The loader defers resources of the types that have a set-wise mapping (their JSON is in the
raw store ``mm_fhir_resource``); at the end of the load `apply` runs the mapping's SQL over
them and, all in the database: keeps the resources that have the plain shape the SQL covers
and no quarantine reason, marks repeats of a row key (in this load or with provenance from an
earlier one) as duplicates, inserts the OMOP rows, their ``mm_source_record`` provenance and
the ``mm_reference`` rows of optional references that did not resolve (one warning each) or
resolved to another type. Everything else (odd shapes, records the SQL would quarantine) goes
back to the per-resource mapper, so messages and behaviour on bad input stay the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medmine.warehouse import LoadSession, Reason
from medmine.warehouse.schema import table as table_spec
from medmine.warehouse.sql import ident, literal

#: ``sql(con, source, load_id)``: SQL of the mapped rows of the resources in relation `source`
#: (``seq, source_file, location, resource``).
MappingSQL = Callable[[Any, str, str], str]


@dataclass(frozen=True)
class Ref:
    """An optional reference of the mapping's output: its text, resolved type and key."""

    column: str  #: warehouse column the id goes to (``mm_reference.column_name``)
    ref: str  #: output column holding the reference text
    type: str  #: output column holding the resolved resource type (NULL: unresolved)
    key: str  #: output column holding the resolved identity key
    target: str  #: the resource type the column accepts


@dataclass(frozen=True)
class Code:
    """A source code the mapping registers in ``mm_source_concept`` (output columns)."""

    vocabulary: str
    code: str
    display: str


@dataclass(frozen=True)
class SetwiseMapping:
    """How to write one resource type's set-wise mapping output.

    The output has ``seq``, ``source_file``, ``location``, ``source_key``, ``regular`` and
    ``reason_code`` besides the warehouse columns. With `table_column`, each output row names
    its table there and its key is in `id_column`; `primary_column` tells the record's primary
    row when a resource gives several rows (Observation components).
    """

    resource_type: str
    sql: MappingSQL
    tables: tuple[str, ...]
    id_column: str
    refs: tuple[Ref, ...] = ()
    codes: tuple[Code, ...] = ()
    table_column: str | None = None
    primary_column: str | None = None
    #: output column (or constant table name) that ``mm_reference.table_name`` takes
    ref_table: str = ""
    ref_table_is_column: bool = False
    #: output boolean column: rows where it is false are checked (their reasons count) but
    #: not written; a resource none of whose rows is written goes to the per-resource mapper
    row_column: str | None = None


@dataclass
class Applied:
    """What `apply` did: fallbacks for the per-resource mapper and the codes to register."""

    fallback: list[tuple[int, str, str, str]]  #: (seq, source_file, location, JSON text)
    #: (seq, order, vocabulary, code, display): each code where it is first seen
    codes: list[tuple[int, int, str, str, str | None]]
    loaded: int = 0
    duplicates: int = 0


def _table_expr(m: SetwiseMapping) -> str:
    return ident(m.table_column) if m.table_column else literal(m.tables[0])


def apply(s: LoadSession, m: SetwiseMapping, source: str) -> Applied:
    """Map the resources of relation `source` set-wise and write what loads (see module doc)."""
    con = s.wh.con
    rtype = m.resource_type
    con.execute(f"CREATE OR REPLACE TEMP TABLE __sw AS {m.sql(con, source, s.load_id)}")
    # A resource loads set-wise when every row it gives is regular and has no reason.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __sw_ok AS SELECT seq FROM __sw GROUP BY seq "
        "HAVING bool_and(coalesce(regular, false) AND reason_code IS NULL)"
        + (f" AND bool_or({ident(m.row_column)})" if m.row_column else "")
    )
    # Resources for the per-resource mapper: usually none. Their seqs are found first
    # (`source` read for its seq alone, a join on raw ids); the JSON text is read only when
    # there are some (reading every resource's text again cost a scan of the raw store).
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __sw_fall AS SELECT seq FROM ({source}) "
        "WHERE seq NOT IN (SELECT seq FROM __sw_ok)"
    )
    fallback = []
    if con.execute("SELECT count(*) FROM __sw_fall").fetchone()[0]:
        fallback = con.execute(
            f"SELECT seq, source_file, location, resource FROM ({source}) "
            "WHERE seq IN (SELECT seq FROM __sw_fall) ORDER BY seq"
        ).fetchall()
    if m.row_column:  # from here on only the rows that are written
        con.execute(f"DELETE FROM __sw WHERE NOT coalesce({ident(m.row_column)}, false)")
    table = _table_expr(m)
    primary = f"WHERE {ident(m.primary_column)}" if m.primary_column else ""
    rid = ident(m.id_column)
    # Duplicates: a primary key seen earlier in this set, or with provenance already.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __sw_keep AS
        SELECT seq, t, id, k > 1 OR EXISTS (SELECT 1 FROM mm_source_record r
                                            WHERE r.table_name = t AND r.row_id = id) AS dup
        FROM (SELECT seq, {table} AS t, {rid} AS id,
                     row_number() OVER (PARTITION BY {table}, {rid} ORDER BY seq) AS k
              FROM __sw SEMI JOIN __sw_ok USING (seq) {primary})
        """
    )
    loaded, dups = con.execute(
        "SELECT count(*) FILTER (NOT dup), count(*) FILTER (dup) FROM __sw_keep"
    ).fetchone()
    kept = "__sw SEMI JOIN (SELECT seq FROM __sw_keep WHERE NOT dup) k USING (seq)"
    out_cols = {c[0] for c in con.execute("DESCRIBE __sw").fetchall()}
    for t in m.tables:
        cols = [c[0] for c in con.execute(f"DESCRIBE {ident(t)}").fetchall() if c[0] in out_cols]
        names = ", ".join(map(ident, cols))
        where = f"WHERE {ident(m.table_column)} = {literal(t)}" if m.table_column else ""
        n = con.execute(
            f"INSERT OR IGNORE INTO {ident(t)} ({names}) SELECT {names} FROM {kept} {where}"
        ).fetchone()[0]
        if n:
            s.report.rows_written[t] = s.report.rows_written.get(t, 0) + int(n)
    con.execute(  # mm_source_record has no key index: insert_new_sql keeps its key unique
        table_spec("mm_source_record").insert_new_sql(
            f"(SELECT {table} AS table_name, {rid} AS row_id, {literal(s.load_id)} AS load_id, "
            f"source_file, location, {literal(rtype)} AS resource_type, source_key, "
            f"NULL AS checksum FROM {kept})"
        )
    )
    warnings = _references(s, m, kept)
    s.tally(rtype, loaded=int(loaded))
    if dups:
        s.skip(rtype, Reason.DUPLICATE, int(dups))
    if warnings:
        s.warn(rtype, Reason.UNRESOLVED_REFERENCE, warnings)
    codes = _codes(con, m)
    return Applied(fallback, codes, int(loaded), int(dups))


def _references(s: LoadSession, m: SetwiseMapping, kept: str) -> int:
    """Keep unresolved and other-type references of loaded records; returns the warnings."""
    if not m.refs:
        return 0
    con = s.wh.con
    ref_table = ident(m.ref_table) if m.ref_table_is_column else literal(m.ref_table)
    primary = f"AND {ident(m.primary_column)}" if m.primary_column else ""
    parts = []
    for r in m.refs:
        ref, typ, key = ident(r.ref), ident(r.type), ident(r.key)
        parts.append(
            f"SELECT {ref_table} AS table_name, {ident(m.id_column)} AS row_id, "
            f"{literal(r.column)} AS column_name, {ref} AS reference, "
            f"coalesce({typ}, {literal(r.target)}) AS target_type, "
            f"CASE WHEN {typ} IS NOT NULL THEN mm_stable_id('fhir:' || {typ}, {key}) END "
            f"AS resolved_id FROM {kept} WHERE {ref} IS NOT NULL "
            f"AND {typ} IS DISTINCT FROM {literal(r.target)} {primary}"
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __sw_refs AS " + " UNION ALL ".join(parts),
    )
    con.execute(
        "INSERT OR IGNORE INTO mm_reference (table_name, row_id, column_name, reference, "
        "resource_type, target_type, system, value, resolved_id, load_id) "
        f"SELECT table_name, row_id, column_name, reference, {literal(m.resource_type)}, "
        f"target_type, NULL, NULL, resolved_id, {literal(s.load_id)} FROM __sw_refs"
    )
    n = con.execute("SELECT count(*) FILTER (resolved_id IS NULL) FROM __sw_refs").fetchone()[0]
    return int(n)


def _codes(con: Any, m: SetwiseMapping) -> list[tuple[int, int, str, str, str | None]]:
    """Codes of the resources mapped set-wise (duplicates too), first seen first."""
    if not m.codes:
        return []
    parts = [
        f"SELECT seq, {ident(c.vocabulary)} AS v, {ident(c.code)} AS c, "
        f"{ident(c.display)} AS d, {i} AS o FROM __sw SEMI JOIN __sw_ok USING (seq) "
        f"WHERE {ident(c.code)} IS NOT NULL"
        for i, c in enumerate(m.codes)
    ]
    rows = con.execute(
        "SELECT min((seq, o)) AS k, v, c, arg_min_null(d, (seq, o)) FROM ("
        + " UNION ALL ".join(parts)
        + ") GROUP BY v, c ORDER BY k"
    ).fetchall()
    return [(k[0], k[1], v, c, d) for k, v, c, d in rows]
