"""The ingest step of the demo: Eunomia (OMOP) plus the bundled FHIR sample, and a loads page."""

from __future__ import annotations

from typing import Any

from medmine.ingest import fhir, omop
from medmine.report import ReportLink, page_context
from medmine.report.console import print_load_report, print_table_counts
from medmine.report.loads_page import write_loads_page
from medmine.warehouse import Warehouse


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
    with Warehouse(ctx.warehouse) as wh:
        prog, update = _progress(ctx, "OMOP (Eunomia)")
        with prog:
            rep = omop.load(omop.eunomia_path(), wh, progress=update)
        print_load_report(rep, ctx.console)
        ctx.load_reports.append(rep)
        fhir_dir = ctx.samples / "synthea_fhir"
        prog, update = _progress(ctx, "FHIR sample")
        with prog:
            rep = fhir.load([fhir_dir], wh, progress=update)
        print_load_report(rep, ctx.console)
        ctx.load_reports.append(rep)
        counts = wh.counts()
        page = page_context(wh, command="medmine demo")
    print_table_counts(counts, ctx.console)
    path = write_loads_page(ctx.reports_dir / "loads.html", ctx.load_reports, counts, context=page)
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
