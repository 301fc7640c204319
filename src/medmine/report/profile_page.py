"""The profile page: per table, Plotly plots of records per year, records per person and null
rates, then column statistics and top codes; with a comparison, the deltas come first.

Identifier columns show no range (the smallest and largest id are not statistics); lab values
are summarised per test with their unit, since one range over all tests and units means
nothing. Warehouses are named by file name only.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from medmine.quality.profile import ProfileDelta, TableProfile, WarehouseProfile
from medmine.report.context import PageContext, warehouse_name
from medmine.report.html import figure_html, render_page, table_html
from medmine.report.tables import plain_column

_E = html.escape


def _figures(tp: TableProfile) -> str:
    import plotly.graph_objects as go

    figs = []
    if tp.by_year:
        f = go.Figure(go.Bar(x=list(tp.by_year), y=list(tp.by_year.values())))
        f.update_layout(title=f"{tp.name}: rows per year of {tp.year_column}", height=280,
                        margin=dict(l=40, r=10, t=40, b=30))  # fmt: skip
        figs.append(f)
    if tp.per_person_hist:
        xs = [a for a, _ in tp.per_person_hist]
        ys = [b for _, b in tp.per_person_hist]
        f = go.Figure(go.Bar(x=xs, y=ys))
        f.update_layout(title=f"{tp.name}: persons by number of rows", height=280,
                        xaxis_title="rows per person", yaxis_title="persons",
                        margin=dict(l=40, r=10, t=40, b=30))  # fmt: skip
        figs.append(f)
    cols = list(tp.columns.values())
    f = go.Figure(go.Bar(x=[c.column for c in cols], y=[c.null_pct for c in cols]))
    f.update_layout(title=f"{tp.name}: null %", height=280, yaxis_range=[0, 100],
                    margin=dict(l=40, r=10, t=40, b=80))  # fmt: skip
    figs.append(f)
    return "".join(f"<div class='card'>{figure_html(f)}</div>" for f in figs)


def _delta_html(d: ProfileDelta) -> str:
    parts = [
        f"<h2>Comparison</h2><p>new <code>{_E(warehouse_name(d.new))}</code> versus old "
        f"<code>{_E(warehouse_name(d.old))}</code>"
        "</p><h3>Rows per table</h3>",
        table_html(d.rows),
        "<h3>Columns whose null rate or distinct count changed</h3>",
        table_html(d.columns),
        "<details><summary>Rows per year that changed</summary>",
        table_html(d.years),
        "</details>",
    ]
    return "".join(parts)


#: Numeric columns of a table whose values mix tests and units (summarised per test instead).
_MIXED_UNITS = {"measurement": ("value_as_number", "range_low", "range_high")}


def _column_rows(tp: TableProfile) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    mixed = _MIXED_UNITS.get(tp.name, ())
    for c in tp.columns.values():
        lo, hi, mean = c.min, c.max, c.mean
        if plain_column(c.column) or c.column.endswith("concept_id"):
            lo = hi = mean = "(identifier)"
        elif c.column in mixed:
            lo = hi = mean = "(mixed units: see lab values)"
        elif c.type.upper().startswith(("DATE", "TIMESTAMP")):
            lo, hi = (None if v is None else str(v) for v in (lo, hi))
        rows.append(
            {"column": c.column, "type": c.type, "null %": c.null_pct, "distinct": c.distinct,
             "min": lo, "max": hi, "mean": mean}
        )  # fmt: skip
    return rows


def write_profile_page(
    path: str | Path,
    prof: WarehouseProfile,
    delta: ProfileDelta | None = None,
    *,
    context: PageContext | None = None,
    labs: list[dict[str, Any]] | None = None,
) -> Path:
    """Write the page.

    `labs` (from `medmine.report.labs.lab_rows(wh)`) adds the lab tests with their units
    under ``measurement``; `context` is the page's identity (`medmine.report.page_context(wh)`).
    """
    parts = [
        f"<div class='card'><span class='kpi'><b>{len(prof.row_counts)}</b>non-empty tables"
        f"</span><span class='kpi'><b>{prof.total_rows:,}</b>rows</span></div>"
    ]
    if delta is not None:
        parts.append(_delta_html(delta))
    parts.append("<h2>Row counts</h2>")
    parts.append(table_html([{"table": k, "rows": v} for k, v in prof.row_counts.items()]))
    for tp in prof.tables.values():
        parts.append(f"<h2 id='{_E(tp.name)}'>{_E(tp.name)} ({tp.rows:,} rows)</h2>")
        parts.append(_figures(tp))
        if tp.per_person:
            parts.append("<h3>Rows per person</h3>" + table_html([tp.per_person]))
        if tp.name == "measurement" and labs:
            parts.append(
                "<h3>Lab values by test, with units</h3><p class='muted'>Numeric results per "
                "test and unit (tests with at least 5 persons); values are as recorded, not "
                "converted (see <code>medmine quality units</code>).</p>"
                + table_html(labs, name="lab_values")
            )
        parts.append(
            "<details><summary>Columns (ranges for numbers; years for dates; none for ids "
            "and codes)</summary>"
            + table_html(_column_rows(tp), name=f"{tp.name}_columns")
            + "</details>"
        )
        for col, top in tp.top_codes.items():
            if top:
                parts.append(
                    f"<details><summary>Top codes of {_E(col)}</summary>"
                    + table_html(
                        [{"code": c, "name": n, "rows": k} for c, n, k in top],
                        name=f"{tp.name}_{col}_top",
                    )
                    + "</details>"
                )
    return render_page(
        path, "Profile", "".join(parts), subtitle="per table and column", context=context
    )
