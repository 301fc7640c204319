"""`medmine quality` (checks; `quality units`), `medmine profile` and `medmine link`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from medmine.cli import spark as _spark
from medmine.cli._common import (
    WarehouseOpt,
    console,
    existing_warehouse,
    friendly_errors,
    out_folder,
)
from medmine.errors import ConfigError

app = typer.Typer(
    help="Run the data-quality checks, or `quality units` to normalise measurement units.",
    invoke_without_command=True,
)


@app.callback()
@friendly_errors
def quality(
    ctx: typer.Context,
    warehouse: WarehouseOpt = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the page (writes quality.html in it).")
    ] = Path("reports"),
    check_type: Annotated[
        list[str] | None, typer.Option("--type", help="Only these check types (repeatable).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file overriding thresholds and severities by check type or id "
            "(`medmine quality thresholds --write FILE` writes one to start from).",
        ),
    ] = None,
    engine: _spark.EngineOpt = "duckdb",
    master: _spark.MasterOpt = "local[2]",
) -> None:
    """Run the data-quality checks (Kahn framework), store results and write an HTML page.

    Writes quality.html and quality.json (machine-readable: every result, and what changed
    since the previous run on the same warehouse) into --out.
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich.progress import Progress

    from medmine.quality import run_checks
    from medmine.quality.checks import REGISTRY
    from medmine.quality.settings import load_settings
    from medmine.report import page_context
    from medmine.report.quality_page import write_quality_page
    from medmine.warehouse import Warehouse

    settings = load_settings(config)
    out = out_folder(out)
    unknown = sorted(set(check_type or []) - set(REGISTRY))
    if unknown:
        raise ConfigError(f"unknown check type(s) {unknown}; known: {sorted(REGISTRY)}")
    if _spark.check_engine(engine):
        _spark.quality_spark(warehouse, out, check_type, settings, master)
        return
    with Warehouse(existing_warehouse(warehouse)) as wh, Progress(console=console) as prog:
        task = prog.add_task("checks", total=None)

        def update(check_id: str, done: int, total: int) -> None:
            prog.update(task, total=total, completed=done, description="checks")

        run = run_checks(wh, types=check_type or None, progress=update, settings=settings)
        page = write_quality_page(out / "quality.html", run, wh, context=page_context(wh))
        data = run.write_json(out / "quality.json")
    s = run.summary
    t = Table(title=f"quality run {run.run_id} ({run.duration_s:.1f} s)")
    for col in ("checks", "types", "pass", "pass w/ failing rows", "fail", "n/a", "error"):
        t.add_column(col, justify="right")
    t.add_row(
        *(
            f"{s[k]:,}"
            for k in ("checks", "check_types", "pass", "pass_with_failing_rows", "fail")
            + ("not_applicable", "error")
        )
    )
    console.print(t)
    if run.comparison is not None:
        c = run.comparison.counts
        console.print(
            f"since {run.comparison.previous_run_id}: {c['new_failures']:,} new failures, "
            f"{c['worse']:,} worse, {c['fixed']:,} fixed"
        )
    else:
        console.print("first quality run on this warehouse: nothing to compare with yet")
    console.print(f"[green]page:[/green] {page}")
    console.print(f"[green]data:[/green] {data}")


@app.command("thresholds")
@friendly_errors
def thresholds(
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings file to apply (TOML).")
    ] = None,
    write: Annotated[
        Path | None, typer.Option("--write", help="Write the settings in force as TOML here.")
    ] = None,
) -> None:
    """List every check type's severity and threshold (after --config), or write them."""
    from medmine.quality.checks import REGISTRY
    from medmine.quality.settings import load_settings, settings_toml

    settings = load_settings(config)
    if write is not None:
        write.write_text(settings_toml(settings), encoding="utf-8")
        console.print(f"[green]settings:[/green] {write}")
        return
    t = Table(title=f"check types ({settings.source})")
    for col in ("check type", "category", "severity", "threshold %"):
        t.add_column(col, justify="right" if col.startswith("threshold") else "left")
    for name in sorted(REGISTRY):
        ct = REGISTRY[name]
        sev = settings.severity_for(name, name, ct.severity)
        thr = settings.threshold_for(name, name, ct.threshold_pct)
        t.add_row(name, f"{ct.category}/{ct.subcategory or '-'}", sev,
                  "any row fails" if sev == "error" else f"{thr:g}")  # fmt: skip
    console.print(t)


@app.command("units")
@friendly_errors
def units(warehouse: WarehouseOpt = None) -> None:
    """Convert measurement values to the canonical UCUM unit of their LOINC code.

    Fills ``mm_measurement_norm`` (replacing an earlier run); measurement rows are never
    changed, and each row that could not be converted says why.
    """
    from medmine.quality.units import normalize_measurements
    from medmine.warehouse import Warehouse

    with Warehouse(existing_warehouse(warehouse)) as wh:
        rep = normalize_measurements(wh)
    t = Table(title=f"unit normalisation {rep.run_id}")
    t.add_column("status")
    t.add_column("rows", justify="right")
    for status, n in sorted(rep.by_status.items()):
        t.add_row(status, f"{n:,}")
    console.print(t)
    cov = rep.coverage_pct
    console.print(
        f"{rep.converted:,} of {rep.rows:,} measurements in canonical units"
        + (f" ({cov:.0f}% of convertible)" if cov is not None else "")
    )


@friendly_errors
def profile(
    warehouse: WarehouseOpt = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the page (writes profile.html in it).")
    ] = Path("reports"),
    compare: Annotated[
        Path | None, typer.Option("--compare", help="Other warehouse to compare with (deltas).")
    ] = None,
) -> None:
    """Profile every table: null rates, distinct counts, ranges, top codes, dates per year."""
    from medmine.quality.profile import compare_profiles, profile_warehouse
    from medmine.report import page_context
    from medmine.report.labs import lab_rows
    from medmine.report.profile_page import write_profile_page
    from medmine.warehouse import Warehouse

    out = out_folder(out)
    if compare is not None:
        existing_warehouse(str(compare))  # refused before any work
    with Warehouse(existing_warehouse(warehouse), read_only=True) as wh:
        with console.status("profiling every table…"):
            prof = profile_warehouse(wh)
        page_ctx, labs = page_context(wh), lab_rows(wh)
    other = None
    if compare is not None:
        with Warehouse(existing_warehouse(str(compare)), read_only=True) as wh2:
            other = profile_warehouse(wh2)
    delta = compare_profiles(prof, other) if other is not None else None
    page = write_profile_page(out / "profile.html", prof, delta, context=page_ctx, labs=labs)
    console.print(
        f"profiled {len(prof.tables)} non-empty tables, {prof.total_rows:,} rows"
        + (f"; compared with {compare}" if compare else "")
    )
    console.print(f"[green]page:[/green] {page}")
