"""Classify NDJSON lines in DuckDB: which ones the set-wise path can take without a Python parse.

The loader reads an NDJSON file in chunks of lines; `classify` hands a chunk to DuckDB (one
Arrow column, no per-line Python parse) and returns, for each line, its resource type and id
when the line is a resource of a set-wise type that the loader would defer as it is (a JSON
object, a string ``id``, no ``modifierExtension``, an Observation with a date of its own),
else None: that line takes the per-line path (``orjson`` and the per-resource checks), so
malformed lines are still quarantined with their file and line, and every message stays the
loader's.

DuckDB's JSON reader (yyjson) accepts a few things ``orjson`` (the per-line path) rejects:
``NaN`` and ``Infinity``, trailing commas, numbers that overflow a double. Lines that could
hold them (a cheap textual test, which also catches harmless look-alikes inside strings) take
the per-line path, so such a line is quarantined as ``malformed`` exactly as before. As in the
set-wise mapping itself, a resource with a repeated property name is read by DuckDB (first
value), where the per-resource mapper reads the last one (FHIR JSON forbids repeated names).
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from medmine.warehouse.sql import literal

#: Lines per chunk handed to DuckDB (bounds memory: about 1 KB per line).
BULK_LINES = 20_000
#: Text that yyjson accepts and orjson may not (see module doc), or nesting beyond orjson's.
_LENIENT = r"[:,\[][ \t\r\n]*-?(NaN|Inf|inf|[0-9.]+[eE][+-]?[0-9]{3})|,[ \t\r\n]*[\]}]|[0-9]{300}"
_MAX_BRACKETS = 1000  # fewer '[' and '{' than orjson's nesting limit (1024): depth is below it


def connection() -> Any:
    """A private in-memory DuckDB connection for `classify` (independent of the warehouse's,
    so it can run while the load's writer thread inserts).
    """
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def classify(con: Any, texts: list[bytes], types: list[str]) -> list[tuple[str, str] | None]:
    """For each stripped NDJSON line, ``(resourceType, id)`` when the set-wise path can take
    it as it is, else None (see module doc). `types` are the set-wise resource types.
    """
    if not texts or not types:
        return [None] * len(texts)
    col = pa.array(texts, pa.binary())
    try:
        col = col.cast(pa.string())
        valid = None
    except pa.ArrowInvalid:  # some line is not UTF-8: the per-line path says so
        valid = [_utf8(t) for t in texts]
        col = pa.array([t.decode() if v else "" for t, v in zip(texts, valid, strict=True)])
    lines = pa.table({"i": pa.array(range(len(texts)), pa.int64()), "t": col})  # noqa: F841
    wanted = ", ".join(literal(f'"{t}"') for t in types)
    # json_extract gives each value's JSON text (minified): a string is '"..."', and without a
    # backslash its text between the quotes is its value.
    rows = con.execute(
        f"""
        WITH p AS (
          SELECT i, t, try(json_extract(t, ['$.resourceType', '$.id', '$.effectiveDateTime',
                                            '$.effectiveInstant', '$.effectivePeriod'])) AS v
          FROM lines WHERE starts_with(t, '{{')
        )
        SELECT i, v[1][2:-2], v[2][2:-2] FROM p
        WHERE v[1] IN ({wanted})
          AND starts_with(v[2], '"') AND v[2] <> '""' AND NOT contains(v[2], '\\')
          AND (v[1] <> '"Observation"'
               OR coalesce(v[3], 'null') <> 'null' OR coalesce(v[4], 'null') <> 'null'
               OR (starts_with(v[5], '{{')
                   AND coalesce(json_extract(v[5], '$.start'), 'null') <> 'null')
               OR (v[5] <> 'null' AND NOT starts_with(v[5], '{{')))
          AND NOT contains(t, '"modifierExtension"')
          AND strlen(t) - strlen(replace(replace(t, '[', ''), '{{', '')) < {_MAX_BRACKETS}
          AND NOT regexp_matches(t, {literal(_LENIENT)})
        """
    ).fetchall()
    out: list[tuple[str, str] | None] = [None] * len(texts)
    for i, rtype, rid in rows:
        if valid is None or valid[i]:
            out[i] = (rtype, rid)
    return out


def _utf8(text: bytes) -> bool:
    try:
        text.decode()
    except UnicodeDecodeError:
        return False
    return True
