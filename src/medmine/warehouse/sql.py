"""The one quoting helper: identifiers and literals that must appear in SQL text.

Values from outside (paths, ids, codes, options) reach SQL as bound parameters wherever the
engine accepts one. A few places cannot take a parameter (table and column names, the path in
``ATTACH`` or ``COPY``, DDL); those, and only those, go through this module so that quoting is
written, tested and reviewed once.

>>> ident('person"; DROP TABLE x; --')
'"person""; DROP TABLE x; --"'
>>> literal("person.csv'); DELETE FROM mm_audit; --")
"'person.csv''); DELETE FROM mm_audit; --'"
"""

from __future__ import annotations

from pathlib import Path


def ident(name: str) -> str:
    """`name` as a double-quoted SQL identifier (embedded quotes doubled; NUL refused)."""
    text = str(name)
    if "\x00" in text:
        raise ValueError("an SQL identifier cannot contain a NUL character")
    return '"' + text.replace('"', '""') + '"'


def literal(value: str | Path) -> str:
    """`value` as a single-quoted SQL string literal (embedded quotes doubled; NUL refused)."""
    text = str(value)
    if "\x00" in text:
        raise ValueError("an SQL string literal cannot contain a NUL character")
    return "'" + text.replace("'", "''") + "'"


def qualified(schema: str, name: str) -> str:
    """``schema.name`` with both parts quoted."""
    return f"{ident(schema)}.{ident(name)}"
