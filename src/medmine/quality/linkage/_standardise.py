"""Standardise identity tables: map user columns to medmine's identity fields, clean them.

Every input (a warehouse's ``mm_person_identity``, a CSV, a DataFrame) becomes one DuckDB
table with the same columns: cleaned identifiers plus derived keys (nickname group, phonetic
codes, birth date with day and month swapped, street number split off the address line).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

from medmine.errors import MedmineError
from medmine.quality.linkage._names import name_groups
from medmine.warehouse.sql import ident, literal

__all__ = ["FIELDS", "parse_mapping", "standardise"]

#: The identity fields medmine compares, with what each holds. A column mapping names the
#: user's column for some of them (``given_name=first``); unnamed fields are looked up by
#: their own name and otherwise left empty.
FIELDS: dict[str, str] = {
    "unique_id": "record id, unique within its source (default: row number)",
    "source": "source name (default: the file or table name)",
    "given_name": "first name",
    "family_name": "last name / surname",
    "birth_date": "date of birth (DATE, YYYYMMDD, YYYY-MM-DD)",
    "sex": "administrative sex (m/f/male/female)",
    "street_number": "house number (split off address_line when absent)",
    "address_line": "street address",
    "address_line2": "second address line (building, locality)",
    "city": "city / suburb",
    "state": "state or province",
    "zip": "postcode",
    "phone": "telephone number",
    "email": "e-mail address",
    "ssn": "national identifier (SSN, soc_sec_id)",
    "mrn": "medical record number",
    "mrn_authority": "assigning authority of the MRN",
}

_COMPARED = [f for f in FIELDS if f not in ("unique_id", "source")]


def parse_mapping(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """``"given_name=first,family_name=last"`` -> ``{"given_name": "first", ...}``.

    Raises
    ------
    MedmineError
        For a field medmine does not know or an item without ``=``.
    """
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        items = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            if "=" not in part:
                raise MedmineError(
                    f"column mapping item {part!r} has no '='; write FIELD=COLUMN, for example "
                    "given_name=first"
                )
            k, v = part.split("=", 1)
            items.append((k.strip(), v.strip()))
    out = {}
    for field, column in items:
        if field not in FIELDS:
            raise MedmineError(
                f"column mapping names unknown field {field!r}; use one of: {', '.join(FIELDS)}"
            )
        if not column:
            raise MedmineError(f"column mapping gives no column for field {field!r}")
        out[field] = column
    return out


def _metaphone(values: list[str | None]) -> list[str | None]:
    import jellyfish

    return [jellyfish.metaphone(v)[:6] or None if v else None for v in values]


@functools.cache
def _group_table() -> pa.Table:
    g = name_groups()
    return pa.table({"name": list(g), "grp": list(g.values())})


def _text(col: str) -> str:
    """Lower-case, accents stripped, inner spaces collapsed, '' -> NULL."""
    return (
        f"nullif(trim(regexp_replace(lower(strip_accents(CAST({col} AS VARCHAR))), "
        r"'\s+', ' ', 'g')), '')"
    )


def _name(col: str) -> str:
    """A name: letters, space, hyphen and apostrophe only (Synthea appends digits)."""
    return (
        f"nullif(trim(regexp_replace(regexp_replace(lower(strip_accents(CAST({col} AS VARCHAR))), "
        r"'[^a-z '' -]', '', 'g'), '\s+', ' ', 'g')), '')"
    )


def _zip(col: str) -> str:
    """Postcode: letters and digits; a US ZIP+4 keeps its five-digit ZIP."""
    z = f"regexp_replace(lower(CAST({col} AS VARCHAR)), '[^0-9a-z]', '', 'g')"
    return (
        f"nullif(CASE WHEN regexp_full_match({z}, '[0-9]{{9}}') THEN left({z}, 5) ELSE {z} END, '')"
    )


def _digits(col: str) -> str:
    return f"nullif(regexp_replace(CAST({col} AS VARCHAR), '[^0-9]', '', 'g'), '')"


def _dob(col: str, is_date: bool) -> str:
    if is_date:
        return f"strftime(CAST({col} AS DATE), '%Y%m%d')"
    d = _digits(col)
    # YYYYMMDD (also from YYYY-MM-DD); anything else is kept only if it has 8 digits
    return f"CASE WHEN length({d}) = 8 THEN {d} END"


def standardise(
    con: duckdb.DuckDBPyConnection,
    tables: list[tuple[str, Any]],
    mapping: Mapping[str, str] | None = None,
    *,
    out: str = "mm_link_input",
) -> dict[str, int]:
    """Create table `out` in `con` with the standard fields of every input table.

    Parameters
    ----------
    con
        DuckDB connection the linkage runs in.
    tables
        ``(source name, table)`` pairs; a table is a pyarrow Table, a pandas DataFrame or the
        name of a table or view already in `con`.
    mapping
        Field -> column name in the inputs (same for all inputs).

    Returns
    -------
    dict
        Field -> number of non-empty values (the model compares fields that have some).

    Raises
    ------
    MedmineError
        When a mapped column is missing from an input, or no comparable field is present.
    """
    mapping = dict(mapping or {})
    selects = []
    for i, (source, tbl) in enumerate(tables):
        name = f"mm_link_raw_{i}"
        if isinstance(tbl, str):
            con.execute(f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS SELECT * FROM {ident(tbl)}")
        else:
            if not isinstance(tbl, pa.Table):
                tbl = pa.Table.from_pandas(tbl, preserve_index=False)
            con.register(name, tbl)
        cols = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {ident(name)}").fetchall()}
        missing = [c for f, c in mapping.items() if c not in cols and f != "source"]
        if missing:
            raise MedmineError(
                f"input {source!r} has no column {missing[0]!r} named in the column mapping; "
                f"its columns are: {', '.join(cols)}"
            )
        exprs = {}
        for field in FIELDS:
            col = mapping.get(field, field)
            if field == "source":
                exprs[field] = f"CAST({ident(col)} AS VARCHAR)" if col in cols else literal(source)
                continue
            exprs[field] = ident(col) if col in cols else "NULL"
        uid = exprs["unique_id"]
        exprs["unique_id"] = (
            f"trim(CAST({uid} AS VARCHAR))"
            if uid != "NULL"
            else "CAST(row_number() OVER () AS VARCHAR)"
        )
        dob_col = exprs["birth_date"]
        is_date = dob_col != "NULL" and cols.get(
            mapping.get("birth_date", "birth_date"), ""
        ).startswith(("DATE", "TIMESTAMP"))
        sel = (
            f"SELECT {exprs['unique_id']} AS unique_id, {exprs['source']} AS source, "
            f"{_name(exprs['given_name'])} AS given_name, "
            f"{_name(exprs['family_name'])} AS family_name, "
            f"{_dob(dob_col, is_date) if dob_col != 'NULL' else 'NULL'} AS birth_date, "
            f"{_text(exprs['sex'])} AS sex, {_digits(exprs['street_number'])} AS street_number, "
            f"{_text(exprs['address_line'])} AS address_line, "
            f"{_text(exprs['address_line2'])} AS address_line2, {_text(exprs['city'])} AS city, "
            f"{_text(exprs['state'])} AS state, "
            f"{_zip(exprs['zip'])} AS zip, "
            f"right({_digits(exprs['phone'])}, 10) AS phone, {_text(exprs['email'])} AS email, "
            f"{_digits(exprs['ssn'])} AS ssn, {_text(exprs['mrn'])} AS mrn, "
            f"{_text(exprs['mrn_authority'])} AS mrn_authority "
            f"FROM {ident(name)}"
        )
        selects.append(sel)
    union = " UNION ALL ".join(f"({s})" for s in selects)
    con.execute(f"CREATE OR REPLACE TEMP TABLE mm_link_base AS {union}")
    _derive(con, out)
    counts = con.execute(
        "SELECT " + ", ".join(f"count({ident(f)})" for f in _COMPARED) + f" FROM {ident(out)}"
    ).fetchall()[0]
    dupes = con.execute(
        f"SELECT count(*) - count(DISTINCT (source, unique_id)) FROM {ident(out)}"
    ).fetchall()[0][0]
    if dupes:
        raise MedmineError(
            f"{dupes:,} records share a (source, unique_id) with another; map unique_id to a "
            "column that identifies each record within its source"
        )
    return dict(zip(_COMPARED, counts, strict=True))


def _derive(con: duckdb.DuckDBPyConnection, out: str) -> None:
    """Nickname groups, phonetic codes, swapped dates, street numbers split off addresses."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT n FROM (SELECT given_name AS n FROM mm_link_base UNION "
            "SELECT family_name FROM mm_link_base) WHERE n IS NOT NULL"
        ).fetchall()
    ]
    phon = pa.table({"name": names, "code": _metaphone(names)})  # noqa: F841
    con.register("mm_link_phonetic", phon)
    con.register("mm_link_name_group", _group_table())
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ident(out)} AS
        WITH b AS (
          SELECT * REPLACE (
              coalesce(street_number, nullif(regexp_extract(address_line, '^(\\d+)\\s', 1), ''))
                AS street_number,
              CASE WHEN street_number IS NULL
                   THEN nullif(regexp_replace(address_line, '^\\d+\\s+', ''), '')
                   ELSE address_line END AS address_line,
              CASE WHEN sex IN ('m', 'male') THEN 'm' WHEN sex IN ('f', 'female') THEN 'f'
                   ELSE sex END AS sex,
              -- placeholders such as 000000000 or 9999999999 are no identifier
              CASE WHEN replace(ssn, left(ssn, 1), '') = '' THEN NULL ELSE ssn END AS ssn,
              CASE WHEN replace(phone, left(phone, 1), '') = '' THEN NULL ELSE phone END
                AS phone
          ) FROM mm_link_base
        )
        SELECT b.source || ':' || b.unique_id AS uid, b.*,
               coalesce(g.grp, b.given_name) AS given_group,
               pg.code AS given_phonetic, pf.code AS family_phonetic,
               substr(b.birth_date, 1, 4) AS birth_year,
               CASE WHEN b.birth_date IS NOT NULL AND substr(b.birth_date, 5, 2)
                         <> substr(b.birth_date, 7, 2)
                    THEN substr(b.birth_date, 1, 4) || substr(b.birth_date, 7, 2)
                         || substr(b.birth_date, 5, 2) END AS birth_date_swapped,
               left(b.zip, 3) AS zip3
        FROM b
        LEFT JOIN mm_link_name_group g ON g.name = b.given_name
        LEFT JOIN mm_link_phonetic pg ON pg.name = b.given_name
        LEFT JOIN mm_link_phonetic pf ON pf.name = b.family_name
        """
    )
