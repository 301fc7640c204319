"""`medmine ingest ...`: load sources into the warehouse (these commands create it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from medmine.cli import spark as _spark
from medmine.cli._common import (
    WarehouseOpt,
    console,
    err_console,
    fail,
    friendly_errors,
    render_load_report,
)
from medmine.config import warehouse_path
from medmine.errors import SourceError

app = typer.Typer(help="Load sources into the warehouse.", no_args_is_help=True)


@app.command("omop")
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

    _require_inputs([source])
    with Warehouse(warehouse_path(warehouse)) as wh:
        with Progress(console=console) as prog:
            task = prog.add_task("OMOP", total=None)

            def update(name: str, done: int, total: int | None) -> None:
                prog.update(task, total=total, completed=done, description=f"OMOP {name}")

            report = omop.load(source, wh, tables=table or None, progress=update)
        finish_load(wh, report, "omop", [source])


@app.command("fhir")
@friendly_errors
def ingest_fhir(
    paths: Annotated[
        list[Path],
        typer.Argument(help="FHIR files (.json, .json.gz, .ndjson, .ndjson.gz) or folders."),
    ],
    warehouse: WarehouseOpt = None,
    engine: _spark.EngineOpt = "duckdb",
    master: _spark.MasterOpt = "local[2]",
) -> None:
    """Load FHIR R4 Bundles and Bulk Data NDJSON; bad resources are quarantined with a reason."""
    if _spark.check_engine(engine):
        _require_inputs(paths)
        _spark.ingest_fhir_spark(paths, warehouse, master)
        return
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
    _require_inputs(paths)
    with Warehouse(warehouse_path(warehouse)) as wh:
        with Progress(*columns, console=console) as prog:
            task = prog.add_task("FHIR", total=None)

            def update(item: str, done: int, total: int | None) -> None:
                prog.update(task, total=total, completed=done)

            report = fhir.load(paths, wh, progress=update)
        finish_load(wh, report, "fhir", paths)


#: Exit code of a load in which an input could not be read or gave nothing.
EXIT_INPUT_FAILED = 3


def _require_inputs(paths: list[Path]) -> None:
    """Refuse missing inputs before a warehouse is created for them."""
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise SourceError(
            ", ".join(missing),
            "does not exist",
            "give existing files or folders (nothing was loaded and no warehouse was created)",
        )


def finish_load(wh: Any, report: Any, kind: str, inputs: list[Path]) -> None:
    """Print the load report; name every input that failed and exit 3 if any did.

    Exit codes of `medmine ingest`: 0 when every input was read (quarantined records are
    normal; see `medmine warehouse quarantine`), 3 when an input could not be read at all
    or nothing was loaded from it, 1 for a usage error, 130 on Ctrl-C (the load is rolled
    back), 2 for a bug.
    """
    from medmine.ingest.outcome import HINTS, file_outcomes, unread_inputs

    render_load_report(report)
    if report.status != "committed":
        raise fail(f"load {report.load_id} was {report.status.replace('_', ' ')}: nothing kept")
    failed = [o for o in file_outcomes(wh, report.load_id) if o.failed]
    failed += unread_inputs(wh, report.load_id, inputs)
    if not failed:
        if report.totals.read and not report.totals.loaded and not report.totals.skipped:
            raise fail(f"nothing was loaded; {HINTS[kind]}", EXIT_INPUT_FAILED)
        return
    for o in failed:
        err_console.print(
            f"[red]not loaded:[/red] {Path(o.source_file).name}: {o.reason}",
            soft_wrap=True,
            highlight=False,
            markup=True,
        )
    raise fail(
        f"{len(failed)} input file(s) could not be read or gave nothing; {HINTS[kind]} "
        "(details: `medmine warehouse quarantine --load " + report.load_id + "`)",
        EXIT_INPUT_FAILED,
    )


def _load_with_counter(
    label: str, kind: str, warehouse: str | None, inputs: list[Path], run: Callable[..., Any]
) -> None:
    """Run ``run(wh, progress)`` with a records counter, then apply the exit policy."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from medmine.warehouse import Warehouse

    _require_inputs(inputs)
    columns = (SpinnerColumn(), TextColumn(f"{label}: {{task.completed:,}} done"))
    with Warehouse(warehouse_path(warehouse)) as wh:
        with Progress(*columns, console=console) as prog:
            task = prog.add_task(label, total=None)
            report = run(wh, lambda item, done, total: prog.update(task, completed=done))
        finish_load(wh, report, kind, inputs)


@app.command("hl7v2")
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

    _load_with_counter(
        "HL7 v2", "hl7v2", warehouse, paths, lambda wh, p: hl7v2.load(paths, wh, progress=p)
    )


@app.command("claims")
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
        "claims",
        warehouse,
        paths,
        lambda wh, p: claims.load(paths, wh, progress=p, person_namespace=person_namespace),
    )


@app.command("synthea-csv")
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
        "Synthea CSV",
        "synthea_csv",
        warehouse,
        paths,
        lambda wh, p: synthea_csv.load(paths, wh, progress=p),
    )


@app.command("notes")
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
        "notes",
        warehouse,
        [*paths, *([metadata] if metadata else [])],
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


@app.command("vcf")
@friendly_errors
def ingest_vcf(
    paths: Annotated[list[Path], typer.Argument(help="VCF files (.vcf, .vcf.gz), GRCh38.")],
    sample_map: Annotated[
        Path,
        typer.Option(
            "--sample-map",
            help="CSV with sample_id and person_source_value (or person_id) per VCF sample.",
        ),
    ],
    warehouse: WarehouseOpt = None,
) -> None:
    """Load genotypes at pharmacogene positions; unmapped samples and bad lines quarantined."""
    from medmine.ingest import vcf
    from medmine.pgx.calling import GENES, load_gene

    _require_inputs([*paths, sample_map])
    smap = vcf.read_sample_map(sample_map)  # a bad map is refused before a warehouse exists
    positions = {
        (load_gene(g).chromosome, p): (g, r)
        for g in GENES
        for p, r in zip(load_gene(g).positions, load_gene(g).rsids, strict=True)
    }
    _load_with_counter(
        "VCF",
        "vcf",
        warehouse,
        paths,
        lambda wh, p: vcf.load(paths, wh, sample_map=smap, positions=positions),
    )
