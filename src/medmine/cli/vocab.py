"""`medmine vocab load` (the OHDSI Athena vocabularies) and `medmine vocab map`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from medmine.cli._common import WarehouseOpt, console, existing_warehouse, friendly_errors

app = typer.Typer(
    help="Load the OHDSI vocabularies (Athena download) so that codes have names and maps.",
    no_args_is_help=True,
)


def _print_mapping(mapping: Any) -> None:
    """Rows that had concept id 0 and a source code, per field and outcome."""
    if not mapping.rows:
        console.print("no unmapped source codes in the warehouse")
        return
    outcomes = sorted(mapping.by_outcome)
    t = Table(title="source codes mapped to standard concepts (rows that had concept id 0)")
    t.add_column("field")
    for o in outcomes:
        t.add_column(o.replace("_", " "), justify="right")
    for f in mapping.fields:
        t.add_row(f"{f.table}.{f.column}", *(f"{f.outcomes.get(o, 0):,}" for o in outcomes))
    console.print(t)
    console.print(f"{mapping.mapped:,} of {mapping.rows:,} rows now have a standard concept")


@app.command("load")
@friendly_errors
def load(
    athena_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder unzipped from the Athena download (CONCEPT.csv, "
            "CONCEPT_RELATIONSHIP.csv, ... tab-separated).",
            show_default=False,
        ),
    ],
    warehouse: WarehouseOpt = None,
) -> None:
    """Load an Athena vocabulary folder, then map the warehouse's source codes through it.

    Rows are upserted on each table's key, so loading again adds nothing and a newer release
    updates what changed. Lines that cannot be read go to mm_quarantine; the whole load is one
    transaction.
    """
    from rich.progress import Progress

    from medmine.quality.athena import check_folder, load_vocabulary
    from medmine.warehouse import Warehouse

    path = existing_warehouse(warehouse)
    check_folder(athena_dir)  # a wrong folder fails before the warehouse is opened
    with (
        Warehouse(path) as wh,
        Progress(console=console, transient=True) as prog,
    ):
        task = prog.add_task("vocabulary", total=None)

        def update(step: str, done: int, total: int) -> None:
            prog.update(task, total=total, completed=done, description=step)

        res = load_vocabulary(athena_dir, wh, progress=update)
    t = Table(title=f"vocabulary load {res.report.load_id}")
    t.add_column("file", no_wrap=True)
    for col in ("read", "new", "updated", "unchanged", "rejected"):
        t.add_column(col, justify="right")
    for f in res.files:
        if f.table is not None:
            counts = (f.read, f.inserted, f.updated, f.unchanged, f.rejected)
            t.add_row(f.file, *(f"{n:,}" for n in counts))
    console.print(t)
    skipped = [f.file for f in res.files if f.table is None]
    if skipped:
        console.print(f"not loaded (no such table in the warehouse schema): {', '.join(skipped)}")
    if res.rejected:
        console.print(
            f"[yellow]{res.rejected:,} line(s) could not be read[/yellow]: set aside in "
            f"mm_quarantine under load {res.report.load_id}, with file, line and reason"
        )
    _print_mapping(res.mapping)


@app.command("map")
@friendly_errors
def map_codes(warehouse: WarehouseOpt = None) -> None:
    """Map source codes still at concept id 0 to standard concepts of the loaded vocabulary.

    `vocab load` does this itself; run it again after ingesting more data.
    """
    from medmine.errors import ConfigError
    from medmine.quality.concept_map import map_source_codes
    from medmine.warehouse import Warehouse

    with Warehouse(existing_warehouse(warehouse)) as wh:
        if not wh.count("concept"):
            raise ConfigError(
                f"warehouse {wh.path} has no vocabulary (the concept table is empty); "
                "load one first with `medmine vocab load ATHENA_DIR`"
            )
        mapping = map_source_codes(wh)
    _print_mapping(mapping)
