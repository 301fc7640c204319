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
from medmine.errors import ConfigError

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
    include_identified: Annotated[
        bool,
        typer.Option(
            "--include-identified",
            help="Also write identity, linkage, quarantine and provenance tables (PHI).",
        ),
    ] = False,
) -> None:
    """Export tables to Parquet (the interchange format for Spark and other engines).

    Files are private (0600) and the export is recorded in the audit log. No consent filter
    applies: to release data to others, use `medmine privacy` tools (deid, consent export).
    """
    from medmine.warehouse import Warehouse
    from medmine.warehouse.connection import IDENTIFIED_TABLES

    with Warehouse(existing_warehouse(warehouse)) as wh:
        written = wh.export_parquet(out, include_identified=include_identified)
    console.print(f"wrote {len(written)} Parquet files to {out} (mode 0600; audited)")
    if not include_identified:
        console.print(
            f"not written: {', '.join(IDENTIFIED_TABLES)} (direct identifiers, raw records, "
            "provenance); add --include-identified to export them too"
        )


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


@app.command("quarantine")
@friendly_errors
def warehouse_quarantine(
    warehouse: WarehouseOpt = None,
    load: Annotated[str | None, typer.Option("--load", help="Only this load id.")] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Only this reason code (e.g. missing_field).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Records to list (0: summary only).")] = 50,
    export: Annotated[
        Path | None, typer.Option("--export", help="Write the matching records to this CSV.")
    ] = None,
    include_raw: Annotated[
        bool,
        typer.Option(
            "--include-raw",
            help="Also export each raw input record (PHI: file mode 0600, audited).",
        ),
    ] = False,
) -> None:
    """List what loads set aside: file, location, type, reason and message (no data values)."""
    from medmine.warehouse import Warehouse
    from medmine.warehouse import quarantine as q

    if limit < 0:
        raise ConfigError(f"--limit must be 0 or more; got {limit}")
    if include_raw and export is None:
        raise ConfigError("--include-raw only applies with --export FILE.csv")
    with Warehouse(existing_warehouse(warehouse), read_only=not include_raw) as wh:
        q.check_filters(wh, load, reason)
        summ = q.summary(wh, load, reason)
        rows = q.listing(wh, load, reason, limit) if limit else None
        n_export = q.export(wh, export, load, reason, include_raw=include_raw) if export else None
    if summ.empty:
        console.print("no quarantined records" + (" for these filters" if load or reason else ""))
        return
    t = Table(title=f"quarantined records ({int(summ['records'].sum()):,})")
    for col in ("load", "type", "reason", "records"):
        t.add_column(col, justify="right" if col == "records" else "left")
    for r in summ.itertuples():
        t.add_row(r.load_id, str(r.resource_type or ""), r.reason_code, f"{r.records:,}")
    console.print(t)
    if rows is not None and not rows.empty:
        lt = Table(title=f"first {len(rows)} records")
        for col in ("id", "file", "location", "type", "reason", "message"):
            lt.add_column(col, overflow="fold")
        for r in rows.itertuples():
            lt.add_row(
                str(r.quarantine_id),
                Path(r.source_file).name,
                r.location,
                str(r.resource_type or ""),
                r.reason_code,
                r.message,
            )
        console.print(lt)
    if n_export is not None:
        console.print(
            f"exported {n_export:,} records to {export}"
            + (" (with raw records: PHI, mode 0600, audited)" if include_raw else "")
        )
