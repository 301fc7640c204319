"""The quality step of the demo: checks, unit normalisation, profiling and linkage."""

from __future__ import annotations

from typing import Any

from medmine.quality import run_checks
from medmine.quality.linkage import link_persons
from medmine.quality.profile import profile_warehouse
from medmine.quality.units import normalize_measurements
from medmine.report import ReportLink, page_context
from medmine.report.labs import lab_rows
from medmine.report.profile_page import write_profile_page
from medmine.report.quality_page import write_quality_page
from medmine.warehouse import Warehouse


def quality_step(ctx: Any) -> None:
    """Run the checks and profiling on the demo warehouse; write quality.html and profile.html.

    Units are normalised into ``mm_measurement_norm`` and, when identities from more than one
    source are present, persons are linked into ``mm_person_link``.
    """
    with Warehouse(ctx.warehouse) as wh:
        run = run_checks(wh)
        page = page_context(wh, command="medmine demo")
        qpage = write_quality_page(ctx.reports_dir / "quality.html", run, wh, context=page)
        units = normalize_measurements(wh)
        link_note = _link(wh)
        prof = profile_warehouse(wh)
        labs = lab_rows(wh)
    ppage = write_profile_page(ctx.reports_dir / "profile.html", prof, context=page, labs=labs)
    s = run.summary
    ctx.console.print(
        f"quality: {s['checks']:,} checks of {s['check_types']} types: {s['pass']:,} pass "
        f"({s['pass_with_failing_rows']:,} with failing rows), {s['fail']:,} fail, "
        f"{s['not_applicable']:,} not applicable, {s['error']:,} error"
    )
    cov = units.coverage_pct
    ctx.links.append(
        ReportLink(
            "Data quality",
            qpage.name,
            f"{s['checks']:,} checks ({s['check_types']} types): {s['fail']:,} fail, "
            f"{s['pass_with_failing_rows']:,} pass with failing rows, {s['error']:,} errors; "
            f"units: {units.converted:,} of {units.rows:,} measurements in canonical units"
            + (f" ({cov:.0f}% of convertible)" if cov is not None else "")
            + link_note,
            "fail" if s["error"] else ("warn" if s["fail"] else "ok"),
        )
    )
    ctx.links.append(
        ReportLink(
            "Profile",
            ppage.name,
            f"{len(prof.tables)} tables, {prof.total_rows:,} rows: null rates, distinct counts, "
            "top codes, rows per year and per person",
        )
    )


def _link(wh: Warehouse) -> str:
    """Link persons when identities come from several sources; a note for the index."""
    # fetchall, not fetchone: an unfinished result would block Splink on the same connection
    n_sources = wh.con.execute("SELECT count(DISTINCT source) FROM mm_person_identity").fetchall()[
        0
    ][0]
    if n_sources < 2:
        return ""
    res = link_persons(wh)
    return f"; linkage: {res.n_records:,} identities in {res.n_clusters:,} clusters"
