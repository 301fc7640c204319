"""The `medmine` command line: parses arguments, calls the Python API, renders with Rich."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from medmine.config import WAREHOUSE_ENV, warehouse_path
from medmine.errors import MedmineError

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="medmine",
    help="Healthcare data mining: ingest, clean, de-identify, mine and report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Load sources into the warehouse.", no_args_is_help=True)
warehouse_app = typer.Typer(help="Inspect and move the warehouse.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(warehouse_app, name="warehouse")

WarehouseOpt = Annotated[
    str | None,
    typer.Option(
        "--warehouse",
        "-w",
        envvar=WAREHOUSE_ENV,
        help="Warehouse DuckDB file (default medmine.duckdb).",
        show_default=False,
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(fn: F) -> F:
    """Turn medmine errors into a one-line message and exit code 1 (no traceback, no PHI)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MedmineError as exc:
            err_console.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
            raise typer.Exit(1) from None
        except FileNotFoundError as exc:
            err_console.print(f"[red]error:[/red] file not found: {exc.filename}")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def render_load_report(report: Any) -> None:
    """Print a load report: per record type, read = loaded + skipped + quarantined."""
    t = Table(title=f"load {report.load_id} ({report.status}, {report.duration_s:.1f} s)")
    for col in ("type", "read", "loaded", "skipped", "quarantined", "warnings", "ok"):
        t.add_column(col, justify="left" if col == "type" else "right")
    for rtype, c in report.counts.items():
        t.add_row(
            rtype,
            f"{c.read:,}",
            f"{c.loaded:,}",
            f"{c.skipped:,}",
            f"{c.quarantined:,}",
            f"{c.warnings:,}",
            "[green]✓[/green]" if c.reconciles else "[red]✗[/red]",
        )
    tot = report.totals
    t.add_row(
        "[b]total[/b]",
        f"{tot.read:,}",
        f"{tot.loaded:,}",
        f"{tot.skipped:,}",
        f"{tot.quarantined:,}",
        f"{tot.warnings:,}",
        "",
    )
    console.print(t)
    for label, reasons in (
        ("quarantined", report.quarantine_reasons),
        ("skipped", report.skip_reasons),
        ("warnings", report.warning_reasons),
    ):
        if reasons:
            console.print(f"  {label}: " + ", ".join(f"{k}={v:,}" for k, v in reasons.items()))


@ingest_app.command("omop")
@friendly_errors
def ingest_omop(
    source: Annotated[
        Path, typer.Argument(help="OMOP DuckDB file, or folder of <table>.csv/.parquet.")
    ],
    warehouse: WarehouseOpt = None,
    table: Annotated[
        list[str] | None, typer.Option("--table", help="Only these tables (repeatable).")
    ] = None,
) -> None:
    """Load an OMOP CDM database (v5.3 or v5.4); rows failing type checks are quarantined."""
    from rich.progress import Progress

    from medmine.ingest import omop
    from medmine.warehouse import Warehouse

    with Warehouse(warehouse_path(warehouse)) as wh, Progress(console=console) as prog:
        task = prog.add_task("OMOP", total=None)

        def update(name: str, done: int, total: int) -> None:
            prog.update(task, total=total, completed=done, description=f"OMOP {name}")

        report = omop.load(source, wh, tables=table or None, progress=update)
    render_load_report(report)


@ingest_app.command("fhir")
@friendly_errors
def ingest_fhir(
    paths: Annotated[
        list[Path],
        typer.Argument(help="FHIR files (.json, .json.gz, .ndjson, .ndjson.gz) or folders."),
    ],
    warehouse: WarehouseOpt = None,
) -> None:
    """Load FHIR R4 Bundles and Bulk Data NDJSON; bad resources are quarantined with a reason."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from medmine.ingest import fhir
    from medmine.warehouse import Warehouse

    columns = (
        TextColumn("FHIR"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Warehouse(warehouse_path(warehouse)) as wh, Progress(*columns, console=console) as prog:
        task = prog.add_task("FHIR", total=None)

        def update(done: int, total: int) -> None:
            prog.update(task, total=total, completed=done)

        report = fhir.load(paths, wh, progress=update)
    render_load_report(report)


def _load_with_counter(label: str, warehouse: str | None, run: Callable[..., Any]) -> None:
    """Run ``run(wh, progress)`` with a records counter, then print the load report."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from medmine.warehouse import Warehouse

    columns = (SpinnerColumn(), TextColumn(f"{label}: {{task.completed:,}} records"))
    with Warehouse(warehouse_path(warehouse)) as wh, Progress(*columns, console=console) as prog:
        task = prog.add_task(label, total=None)
        report = run(wh, lambda n: prog.advance(task, n))
    render_load_report(report)


@ingest_app.command("hl7v2")
@friendly_errors
def ingest_hl7v2(
    paths: Annotated[
        list[Path],
        typer.Argument(help="HL7 v2 files (.hl7, .er7, .mllp, .txt) or folders."),
    ],
    warehouse: WarehouseOpt = None,
) -> None:
    """Load HL7 v2 ADT (A01/A03/A04/A08) and ORU^R01 messages; bad messages are quarantined."""
    from medmine.ingest import hl7v2

    _load_with_counter("HL7 v2", warehouse, lambda wh, p: hl7v2.load(paths, wh, progress=p))


@ingest_app.command("claims")
@friendly_errors
def ingest_claims(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Claims CSV files (medmine contract or CMS DE-SynPUF) or folders."),
    ],
    warehouse: WarehouseOpt = None,
    person_namespace: Annotated[
        str,
        typer.Option(help="Namespace of patient_id (e.g. hl7v2:Patient to link to MRNs)."),
    ] = "claims:Patient",
) -> None:
    """Load claims (docs/claims-format.md contract or DE-SynPUF); bad lines are quarantined."""
    from medmine.ingest import claims

    _load_with_counter(
        "claims",
        warehouse,
        lambda wh, p: claims.load(paths, wh, progress=p, person_namespace=person_namespace),
    )


@ingest_app.command("synthea-csv")
@friendly_errors
def ingest_synthea_csv(
    paths: Annotated[
        list[Path], typer.Argument(help="Synthea CSV export folder (output/csv) or its files.")
    ],
    warehouse: WarehouseOpt = None,
) -> None:
    """Load a Synthea CSV export (patients, encounters, clinical files, claims)."""
    from medmine.ingest import synthea_csv

    _load_with_counter(
        "Synthea CSV", warehouse, lambda wh, p: synthea_csv.load(paths, wh, progress=p)
    )


@ingest_app.command("notes")
@friendly_errors
def ingest_notes(
    paths: Annotated[list[Path], typer.Argument(help="Folders of .txt notes, or note files.")],
    warehouse: WarehouseOpt = None,
    metadata: Annotated[
        Path | None,
        typer.Option(help="Metadata CSV (file, person, date, note_type, encounter, title)."),
    ] = None,
    person_namespace: Annotated[
        str | None,
        typer.Option(help="Namespace of `person` values (e.g. hl7v2:Patient); default: ids."),
    ] = None,
    visit_namespace: Annotated[
        str | None,
        typer.Option(help="Namespace of `encounter` values (e.g. hl7v2:Visit); default: ids."),
    ] = None,
    language: Annotated[str | None, typer.Option(help="Note language, e.g. en.")] = None,
) -> None:
    """Load clinical notes; empty, binary or unmatched files are quarantined."""
    from medmine.ingest import notes

    _load_with_counter(
        "notes",
        warehouse,
        lambda wh, p: notes.load(
            paths,
            wh,
            progress=p,
            metadata=metadata,
            person_namespace=person_namespace,
            visit_namespace=visit_namespace,
            language=language,
        ),
    )


@warehouse_app.command("info")
@friendly_errors
def warehouse_info(warehouse: WarehouseOpt = None) -> None:
    """List warehouse tables with row counts and the most recent loads."""
    from medmine.warehouse import Warehouse

    with Warehouse(warehouse_path(warehouse), read_only=True) as wh:
        t = Table(title=f"warehouse {wh.path}")
        t.add_column("table")
        t.add_column("rows", justify="right")
        for name, n in wh.counts().items():
            t.add_row(name, f"{n:,}")
        console.print(t)
        loads = wh.con.execute(
            "SELECT load_id, status, records_read, records_loaded, records_skipped, "
            "records_quarantined FROM mm_load ORDER BY started_at DESC LIMIT 10"
        ).fetchall()
        if loads:
            lt = Table(title="recent loads")
            for col in ("load", "status", "read", "loaded", "skipped", "quarantined"):
                lt.add_column(col)
            for row in loads:
                lt.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row])
            console.print(lt)


@warehouse_app.command("export")
@friendly_errors
def warehouse_export(
    out: Annotated[Path, typer.Argument(help="Folder for <table>.parquet files.")],
    warehouse: WarehouseOpt = None,
) -> None:
    """Export every table to Parquet (the interchange format for Spark and other engines)."""
    from medmine.warehouse import Warehouse

    with Warehouse(warehouse_path(warehouse), read_only=True) as wh:
        written = wh.export_parquet(out)
    console.print(f"wrote {len(written)} Parquet files to {out}")


@warehouse_app.command("import")
@friendly_errors
def warehouse_import(
    src: Annotated[Path, typer.Argument(help="Folder of <table>.parquet files.")],
    warehouse: WarehouseOpt = None,
) -> None:
    """Import Parquet files of warehouse tables (rows already present are ignored)."""
    from medmine.warehouse import Warehouse

    with Warehouse(warehouse_path(warehouse)) as wh:
        added = wh.import_parquet(src)
    console.print(", ".join(f"{k}: {v:,}" for k, v in added.items()))


@app.command("demo")
@friendly_errors
def demo(
    warehouse: WarehouseOpt = None,
    reports: Annotated[Path, typer.Option(help="Folder for the HTML report.")] = Path("reports"),
    fresh: Annotated[bool, typer.Option(help="Delete the warehouse first.")] = True,
) -> None:
    """Build a warehouse from the bundled samples, run every stage and write the report."""
    from medmine.pipeline import run_demo

    index = run_demo(warehouse_path(warehouse), reports, console=console, fresh=fresh)
    console.print(f"[green]report:[/green] {index}")


@app.command("quality")
@friendly_errors
def quality(
    warehouse: WarehouseOpt = None,
    out: Annotated[Path, typer.Option("--out", help="HTML page to write.")] = Path(
        "reports/quality.html"
    ),
    check_type: Annotated[
        list[str] | None, typer.Option("--type", help="Only these check types (repeatable).")
    ] = None,
) -> None:
    """Run the data-quality checks (Kahn framework), store results and write an HTML page."""
    from rich.progress import Progress

    from medmine.quality import run_checks, write_quality_page
    from medmine.quality._registry import REGISTRY
    from medmine.warehouse import Warehouse

    unknown = sorted(set(check_type or []) - set(REGISTRY))
    if unknown:
        raise typer.BadParameter(f"unknown check type(s) {unknown}; known: {sorted(REGISTRY)}")
    with Warehouse(warehouse_path(warehouse)) as wh, Progress(console=console) as prog:
        task = prog.add_task("checks", total=None)

        def update(check_id: str, done: int, total: int) -> None:
            prog.update(task, total=total, completed=done, description="checks")

        run = run_checks(wh, types=check_type or None, progress=update)
        page = write_quality_page(out, run, wh)
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
    console.print(f"[green]page:[/green] {page}")


@app.command("profile")
@friendly_errors
def profile(
    warehouse: WarehouseOpt = None,
    out: Annotated[Path, typer.Option("--out", help="HTML page to write.")] = Path(
        "reports/profile.html"
    ),
    compare: Annotated[
        Path | None, typer.Option("--compare", help="Other warehouse to compare with (deltas).")
    ] = None,
) -> None:
    """Profile every table: null rates, distinct counts, ranges, top codes, dates per year."""
    from medmine.quality.profile import compare_profiles, profile_warehouse, write_profile_page
    from medmine.warehouse import Warehouse

    with Warehouse(warehouse_path(warehouse), read_only=True) as wh:
        prof = profile_warehouse(wh)
    other = None
    if compare is not None:
        with Warehouse(compare, read_only=True) as wh2:
            other = profile_warehouse(wh2)
    delta = compare_profiles(prof, other) if other is not None else None
    page = write_profile_page(out, prof, delta)
    console.print(
        f"profiled {len(prof.tables)} non-empty tables, {prof.total_rows:,} rows"
        + (f"; compared with {compare}" if compare else "")
    )
    console.print(f"[green]page:[/green] {page}")


@app.command("study")
@friendly_errors
def study(
    name: Annotated[str, typer.Argument(help="Study name (see `medmine study --list`).")] = "",
    warehouse: WarehouseOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the study page.")] = Path(
        "reports"
    ),
    list_: Annotated[bool, typer.Option("--list", help="List the studies and exit.")] = False,
) -> None:
    """Run a study (cohort, models, evaluation) and write ``<out>/study_<name>.html``."""
    from medmine.errors import ConfigError
    from medmine.studies import STUDIES
    from medmine.warehouse import Warehouse

    if list_ or not name:
        console.print("studies: " + ", ".join(sorted(STUDIES)))
        return
    if name not in STUDIES:
        raise ConfigError(f"unknown study {name!r}; choose one of: {', '.join(sorted(STUDIES))}")
    with Warehouse(warehouse_path(warehouse)) as wh:
        link = STUDIES[name](wh, out)
    console.print(f"{link.title}: {link.summary}")
    console.print(f"[green]page:[/green] {Path(out) / link.href}")


@app.command("score")
@friendly_errors
def score(
    model: Annotated[Path, typer.Option("--model", help="Saved model (.skops with manifest).")],
    person: Annotated[int, typer.Option("--person", help="person_id to score.")],
    warehouse: WarehouseOpt = None,
    index_date: Annotated[
        str | None,
        typer.Option("--index-date", help="Index date (default: end of last visit)."),
    ] = None,
    top: Annotated[int, typer.Option(help="Contributions to show.")] = 10,
) -> None:
    """Score one person with a saved model and show the top SHAP contributions."""
    from medmine.studies.scoring import score_person
    from medmine.warehouse import Warehouse

    with Warehouse(warehouse_path(warehouse), read_only=True) as wh:
        s = score_person(model, wh, person, index_date, top=top)
    console.print(f"person {s.person_id} at {s.index_date}: risk [b]{s.risk:.3f}[/b]")
    for note in s.notes:
        console.print(f"  note: {note}")
    t = Table(title="top contributions (SHAP, log-odds)")
    for col in ("covariate", "value", "contribution"):
        t.add_column(col, justify="left" if col == "covariate" else "right")
    for r in s.explanation.itertuples():
        t.add_row(str(r.feature), f"{r.value:g}", f"{r.shap:+.3f}")
    console.print(t)
    console.print(f"model sha256 {s.model_sha256[:16]}…; model card: {s.model_card_ref}")


# Privacy commands (deid, encrypt, decrypt, audit, consent) live with their stage.
from medmine.privacy.cli import register as _register_privacy  # noqa: E402

_register_privacy(app)


def main() -> None:
    """Entry point for ``python -m medmine``."""
    app()
