"""The pages of a warehouse, shared by `medmine run` and `medmine report`: loads (from
``mm_load``), quality and profile, one study, and index entries for studies that could not run.

Every function reads or writes one warehouse and a reports folder and returns the index
entries (`ReportLink`) of what it wrote. Each page carries the warehouse's page context (file
name, load ids, medmine version) and `command`, the command that wrote it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from medmine.errors import MedmineError
from medmine.report import ReportLink, page_context
from medmine.report.loads_page import write_loads_page
from medmine.report.profile_page import write_profile_page
from medmine.report.quality_page import write_quality_page
from medmine.report.study_pages import write_study
from medmine.studies import StudyResult
from medmine.warehouse import LoadReport, TypeCounts, Warehouse

__all__ = ["load_reports", "loads_link", "not_run_link", "quality_links", "study_link"]

_REPORT_FIELDS = {f.name for f in dataclasses.fields(LoadReport)}
_COUNT_FIELDS = {f.name for f in dataclasses.fields(TypeCounts)}


def _time(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def load_reports(wh: Warehouse) -> list[LoadReport]:
    """Every load recorded in ``mm_load``, oldest first, as `LoadReport` objects.

    The per-type counts and reasons come from the row's ``detail``; a row without one gives
    its totals as a single ``records`` type.
    """
    rows = wh.con.execute(
        "SELECT load_id, source_kind, status, started_at, finished_at, files, records_read, "
        "records_loaded, records_skipped, records_quarantined, warnings, detail "
        "FROM mm_load ORDER BY started_at, load_id"
    ).fetchall()
    out = []
    for load_id, kind, status, started, finished, files, *totals, detail in rows:
        doc = json.loads(detail) if detail else {}
        fields = {k: v for k, v in doc.items() if k in _REPORT_FIELDS}
        names = ("read", "loaded", "skipped", "quarantined", "warnings")
        counts = doc.get("counts") or {"records": dict(zip(names, totals, strict=True))}
        fields.update(
            load_id=load_id,
            source_kind=kind,
            status=status,
            started_at=_time(started),
            finished_at=_time(finished),
            files=files or 0,
            counts={
                k: TypeCounts(**{f: int(c.get(f) or 0) for f in _COUNT_FIELDS})
                for k, c in counts.items()
            },
        )
        out.append(LoadReport(**fields))
    return out


def loads_link(wh: Warehouse, out: Path, command: str = "") -> ReportLink:
    """Write ``loads.html`` from ``mm_load`` (committed loads; others are named in the summary)."""
    reports = load_reports(wh)
    kept = [r for r in reports if r.status == "committed"]
    other = len(reports) - len(kept)
    context = page_context(wh, command=command)
    path = write_loads_page(out / "loads.html", kept, wh.counts(), context=context)
    ok = all(r.reconciles for r in kept)
    summary = (
        f"{len(kept)} loads, {sum(r.totals.read for r in kept):,} records read, "
        f"{sum(r.totals.quarantined for r in kept):,} quarantined; "
        + ("all reconcile" if ok else "RECONCILIATION FAILED")
        + (f"; {other} load(s) rolled back or unfinished, not shown" if other else "")
    )
    if not reports:
        summary = "no loads recorded in this warehouse (mm_load is empty)"
    status = "ok" if ok and kept and not other else "warn"
    return ReportLink("Loads", path.name, summary, status)


def quality_links(
    wh: Warehouse, out: Path, settings: Any, console: Console, command: str = ""
) -> list[ReportLink]:
    """Run the checks, unit normalisation, linkage and profile as `settings` say; write pages.

    `settings` is a `QualitySettings`. Returns the index entries of ``quality.html`` and
    ``profile.html`` (those written).
    """
    from medmine.quality import run_checks
    from medmine.quality.profile import profile_warehouse

    links = []
    notes = []
    if settings.units:
        from medmine.quality.units import normalize_measurements

        with console.status("normalising measurement units"):
            units = normalize_measurements(wh)
        cov = units.coverage_pct
        notes.append(
            f"units: {units.converted:,} of {units.rows:,} measurements in canonical units"
            + (f" ({cov:.0f}% of convertible)" if cov is not None else "")
        )
    if settings.link:
        notes.append(_link(wh, console))
    if settings.checks:
        with _bar(console, "quality checks") as update:
            run = run_checks(wh, types=settings.types, progress=update)
        context = page_context(wh, command=command)
        page = write_quality_page(out / "quality.html", run, wh, context=context)
        s = run.summary
        console.print(
            f"quality: {s['checks']:,} checks: {s['pass']:,} pass, {s['fail']:,} fail, "
            f"{s['not_applicable']:,} not applicable, {s['error']:,} error"
        )
        links.append(
            ReportLink(
                "Data quality",
                page.name,
                f"{s['checks']:,} checks ({s['check_types']} types): {s['fail']:,} fail, "
                f"{s['pass_with_failing_rows']:,} pass with failing rows, {s['error']:,} errors"
                + "".join(f"; {n}" for n in notes if n),
                "fail" if s["error"] else ("warn" if s["fail"] else "ok"),
            )
        )
    if settings.profile:
        with console.status("profiling tables"):
            prof = profile_warehouse(wh)
        context = page_context(wh, command=command)
        page = write_profile_page(out / "profile.html", prof, context=context)
        links.append(
            ReportLink(
                "Profile",
                page.name,
                f"{len(prof.tables)} tables, {prof.total_rows:,} rows: null rates, distinct "
                "counts, top codes, rows per year and per person",
            )
        )
    return links


def _link(wh: Warehouse, console: Console) -> str:
    """Link persons when identities come from two or more sources; a note for the index."""
    from medmine.quality.linkage import link_persons

    n = wh.con.execute("SELECT count(DISTINCT source) FROM mm_person_identity").fetchall()
    if n[0][0] < 2:
        return ""
    try:
        with console.status("linking persons across sources"):
            res = link_persons(wh)
    except MedmineError as exc:  # too few identities to learn from: say so, go on
        console.print(f"[yellow]person linkage not run:[/yellow] {exc}")
        return "person linkage not run (too few identities to learn match weights)"
    return f"linkage: {res.n_records:,} identities in {res.n_clusters:,} clusters"


@contextlib.contextmanager
def _bar(console: Console, label: str) -> Iterator[Any]:
    """A transient Rich progress bar, given to the work as a ``(item, done, total)`` callback."""
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def update(item: str, done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def study_link(
    wh: Warehouse, name: str, config: Any, out: Path, console: Console, command: str = ""
) -> tuple[ReportLink, StudyResult]:
    """Run study `name` with `config` on `wh`, write its page and outputs, audit the run.

    Returns the index entry and the result.

    Raises
    ------
    MissingDataError
        When the warehouse lacks what the study needs (nothing is written).
    """
    from medmine.studies import audit_study, get_study

    study = get_study(name)
    with console.status(f"study {name}"):
        result = study.run(wh, config)
    link = write_study(result, out, context=page_context(wh, command=command))
    audit_study(wh, name, link.summary)
    console.print(f"{link.title}: {link.summary}")
    for note in result.notes:
        console.print(f"  note: {note}")
    for label, path in (getattr(result, "saved_models", None) or {}).items():
        console.print(f"  saved model ({label}): {path}")
    return link, result


def not_run_link(title: str, reason: str) -> ReportLink:
    """An index entry for a study that could not run, with the reason (no page)."""
    return ReportLink(title, "", f"not run: {reason}", "warn")
