"""HTML tables of the pages: escaped cells, numbers formatted for reading, raw values kept.

Each numeric cell carries its raw value in ``data-value`` so the vendored table script
(``assets/medmine-tables.js``) sorts numerically and writes exact CSV. Integers get
thousands separators except in identifier-like columns (``id``, ``*_id``, ``* id``, years,
codes), where ``12,345`` would read as two numbers and break copy and paste. Missing values
are shown as missing (``—``), never as 0 or ``nan``.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: What a missing value looks like on a page.
MISSING = "—"

_PLAIN = re.compile(r"(^|[_\s])(ids?|years?|codes?|npi|seq|cluster|k)$", re.IGNORECASE)


def plain_column(name: Any) -> bool:
    """True for columns whose integers are identifiers, years or codes (no separators)."""
    return bool(_PLAIN.search(str(name).strip()))


def is_missing(v: Any) -> bool:
    """None, NaN and pandas' NA / NaT."""
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        import pandas as pd

        return v is pd.NA or v is pd.NaT
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False


def fmt(v: Any, column: Any = "") -> str:
    """Display text of one value in `column` (see the module docstring for the rules)."""
    if is_missing(v):
        return MISSING
    if isinstance(v, bool):
        return "yes" if v else "no"
    plain = plain_column(column)
    if isinstance(v, numbers.Integral):
        return str(int(v)) if plain else f"{int(v):,}"
    if isinstance(v, numbers.Real):
        f = float(v)
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        if plain and f.is_integer():
            return str(int(f))
        return f"{f:,.4g}" if abs(f) < 1e6 else f"{f:,.0f}"
    return str(v)


def raw(v: Any) -> str | None:
    """The exact value of a numeric cell for sorting and CSV (None for text)."""
    if is_missing(v) or isinstance(v, bool):
        return "" if is_missing(v) else None
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))
    return None


def header(column: Any, units: Mapping[str, str] | None = None) -> str:
    """Column title, with its unit or currency in brackets when given."""
    unit = (units or {}).get(str(column))
    return f"{column} ({unit})" if unit else str(column)


def table_html(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    units: Mapping[str, str] | None = None,
    name: str = "",
    filters: bool = False,
) -> str:
    """Render rows as an escaped HTML table the page script makes sortable and filterable.

    Parameters
    ----------
    rows
        Records; values are escaped and formatted by `fmt`.
    columns
        Columns to show, in order (default: the keys of the first row).
    units
        Unit or currency per column, shown in its header, e.g. ``{"billed": "USD"}``.
    name
        File stem of the table's CSV download (default: taken from the heading above it).
    filters
        Show a filter box under every column header (also shown for long tables).

    >>> "12345" in table_html([{"person_id": 12345, "rows": 12345}])
    True
    """
    if not rows:
        return "<p class='muted'>No rows.</p>"
    cols = list(columns or rows[0].keys())
    head = "".join(f"<th>{html.escape(header(c, units))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(_cell(r.get(c), c) for c in cols) + "</tr>" for r in rows)
    return _table(head, body, name, filters)


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str | tuple[str, Any]]],
    *,
    name: str = "",
    filters: bool = False,
) -> str:
    """A table of cells that are already HTML (built and escaped by the caller).

    A cell given as ``(html, value)`` also carries the raw number `value`, so the column
    sorts and exports numerically whatever its display text (e.g. ``"12 / 400"``).
    """
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in rows)
    return _table(head, body, name, filters)


def _html_cell(cell: str | tuple[str, Any]) -> str:
    if isinstance(cell, tuple):
        text, v = cell
        value = raw(v)
        if value is not None:
            return f"<td class='num' data-value='{html.escape(value, quote=True)}'>{text}</td>"
        return f"<td>{text}</td>"
    return f"<td>{cell}</td>"


def _table(head: str, body: str, name: str, filters: bool) -> str:
    attrs = " class='mm-table'"
    if name:
        attrs += f" data-name='{html.escape(name, quote=True)}'"
    if filters:
        attrs += " data-filters='columns'"
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(v: Any, column: Any) -> str:
    text = html.escape(fmt(v, column))
    value = raw(v)
    if value is None:
        return f"<td>{text}</td>"
    cls = " class='na'" if is_missing(v) else " class='num'"
    return f"<td{cls} data-value='{html.escape(value, quote=True)}'>{text}</td>"
