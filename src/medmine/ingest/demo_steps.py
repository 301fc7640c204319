"""Demo step for ingestion: Eunomia (OMOP) plus the bundled FHIR sample, and a loads page."""

from __future__ import annotations

import html
from typing import Any

from medmine.report import ReportLink, render_page, table_html
from medmine.warehouse import LoadReport, Warehouse


def _progress(ctx: Any, label: str):
    """A Rich progress callback ``(item, done, total)`` for a reader."""
    from rich.progress import Progress

    prog = Progress(console=ctx.console, transient=True)
    task = prog.add_task(label, total=None)

    def update(item: str, done: int, total: int) -> None:
        prog.update(task, total=total, completed=done, description=f"{label}: {item}")

    return prog, update


def ingest_step(ctx: Any) -> None:
    """Load Eunomia and the FHIR sample into the demo warehouse and write ``loads.html``."""
    from medmine.cli import render_load_report
    from medmine.ingest import fhir, omop

    with Warehouse(ctx.warehouse) as wh:
        prog, update = _progress(ctx, "OMOP (Eunomia)")
        with prog:
            rep = omop.load(omop.eunomia_path(), wh, progress=update)
        render_load_report(rep)
        ctx.load_reports.append(rep)
        fhir_dir = ctx.samples / "synthea_fhir"
        prog, update = _progress(ctx, "FHIR sample")
        with prog:
            rep = fhir.load(
                [fhir_dir], wh, progress=lambda done, total: update("bytes", done, total)
            )
        render_load_report(rep)
        ctx.load_reports.append(rep)
        counts = wh.counts()
    _print_counts(ctx.console, counts)
    path = write_loads_page(ctx.reports_dir / "loads.html", ctx.load_reports, counts)
    ok = all(r.reconciles for r in ctx.load_reports)
    total = sum(r.totals.read for r in ctx.load_reports)
    quarantined = sum(r.totals.quarantined for r in ctx.load_reports)
    ctx.links.append(
        ReportLink(
            "Loads",
            path.name,
            f"{len(ctx.load_reports)} loads, {total:,} records read, {quarantined:,} "
            f"quarantined; {'all reconcile' if ok else 'RECONCILIATION FAILED'}",
            "ok" if ok else "fail",
        )
    )


def _print_counts(console: Any, counts: dict[str, int]) -> None:
    """Print the non-empty warehouse tables with their row counts."""
    from rich.table import Table

    t = Table(title="warehouse tables")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in counts.items():
        if n:
            t.add_row(name, f"{n:,}")
    console.print(t)


def write_loads_page(path: Any, reports: list[LoadReport], counts: dict[str, int]) -> Any:
    """Write the loads page: per-load reconciliation tables and warehouse row counts."""
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
            + table_html(rows)
            + _reasons("Quarantine reasons", r.quarantine_reasons)
            + _reasons("Skip reasons", r.skip_reasons)
            + _reasons("Warnings", r.warning_reasons)
        )
    parts.append("<h2>Warehouse tables</h2>")
    parts.append(table_html([{"table": k, "rows": v} for k, v in counts.items() if v]))
    return render_page(
        path, "Loads", "".join(parts), subtitle="read = loaded + skipped + quarantined"
    )


def _reasons(title: str, reasons: dict[str, int]) -> str:
    if not reasons:
        return ""
    return f"<h3>{title}</h3>" + table_html(
        [{"reason": k, "records": v} for k, v in sorted(reasons.items())]
    )
