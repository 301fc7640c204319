"""`medmine warehouse ...`: row counts and loads, Parquet export and import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from medmine.cli._common import (
    WarehouseOpt,
    console,
    existing_warehouse,
    friendly_errors,
)
from medmine.config import warehouse_path

app = typer.Typer(help="Inspect and move the warehouse.", no_args_is_help=True)


@app.command("info")
@friendly_errors
def warehouse_info(warehouse: WarehouseOpt = None) -> None:
    """List warehouse tables with row counts and the most recent loads."""
    from medmine.warehouse import Warehouse

    with Warehouse(existing_warehouse(warehouse), read_only=True) as wh:
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


@app.command("export")
@friendly_errors
def warehouse_export(
    out: Annotated[Path, typer.Argument(help="Folder for <table>.parquet files.")],
    warehouse: WarehouseOpt = None,
) -> None:
    """Export every table to Parquet (the interchange format for Spark and other engines)."""
    from medmine.warehouse import Warehouse

    with Warehouse(existing_warehouse(warehouse), read_only=True) as wh:
        written = wh.export_parquet(out)
    console.print(f"wrote {len(written)} Parquet files to {out}")


@app.command("import")
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
