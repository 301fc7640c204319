"""The loads page: per-load reconciliation (read = loaded + skipped + quarantined), reasons,
and warehouse row counts.
"""

from __future__ import annotations

import html
from pathlib import Path

from medmine.report.context import PageContext
from medmine.report.html import render_page, table_html
from medmine.warehouse import LoadReport


def write_loads_page(
    path: str | Path,
    reports: list[LoadReport],
    counts: dict[str, int],
    *,
    context: PageContext | None = None,
) -> Path:
    """Write the loads page: per-load reconciliation tables and warehouse row counts.

    Loads are named by load id and source kind only: never by file or path.
    """
    parts = []
    for r in reports:
        rows = [
            {
                "type": k,
                "read": c.read,
                "loaded": c.loaded,
                "skipped": c.skipped,
                "quarantined": c.quarantined,
                "warnings": c.warnings,
                "reconciles": "yes" if c.reconciles else "NO",
            }
            for k, c in r.counts.items()
        ]
        t = r.totals
        parts.append(
            f"<h2>{html.escape(r.source_kind)} load <code>{html.escape(r.load_id)}</code></h2>"
            f"<div class='card'><span class='kpi'><b>{t.read:,}</b>read</span>"
            f"<span class='kpi'><b>{t.loaded:,}</b>loaded</span>"
            f"<span class='kpi'><b>{t.skipped:,}</b>skipped</span>"
            f"<span class='kpi'><b>{t.quarantined:,}</b>quarantined</span>"
            f"<span class='kpi'><b>{r.duration_s:.1f} s</b>duration</span></div>"
            + table_html(rows, name=f"load_{r.load_id}")
            + _reasons("Quarantine reasons", r.quarantine_reasons)
            + _reasons("Skip reasons", r.skip_reasons)
            + _reasons("Warnings", r.warning_reasons)
        )
    parts.append("<h2>Warehouse tables</h2>")
    parts.append(table_html([{"table": k, "rows": v} for k, v in counts.items() if v]))
    return render_page(
        path,
        "Loads",
        "".join(parts),
        subtitle="read = loaded + skipped + quarantined",
        context=context,
    )


def _reasons(title: str, reasons: dict[str, int]) -> str:
    if not reasons:
        return ""
    return f"<h3>{title}</h3>" + table_html(
        [{"reason": k, "records": v} for k, v in sorted(reasons.items())]
    )
