"""`medmine view run`: run a SQL on FHIR v2 ViewDefinition over FHIR files or a warehouse."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from medmine.cli._common import (
    EXIT_INPUT,
    WarehouseOpt,
    console,
    err_console,
    existing_warehouse,
    fail,
    friendly_errors,
)
from medmine.errors import ConfigError

app = typer.Typer(help="Run SQL on FHIR ViewDefinitions.", no_args_is_help=True)

#: Problems printed one per line before the rest are summarised.
_SHOWN = 20


class Format(enum.StrEnum):
    """Output formats of `view run`."""

    csv = "csv"
    parquet = "parquet"
    ndjson = "ndjson"


_COPY = {
    Format.csv: "FORMAT csv, HEADER true",
    Format.parquet: "FORMAT parquet",
    Format.ndjson: "FORMAT json",
}


def _read_view(path: Path) -> dict[str, Any]:
    import orjson

    try:
        view = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); a ViewDefinition is "
            "one JSON object"
        ) from None
    if not isinstance(view, dict):
        raise ConfigError(f"{path}: a ViewDefinition is a JSON object, got a {type(view).__name__}")
    return view


def _format_of(out: Path, given: Format | None) -> Format:
    if given is not None:
        return given
    suffix = out.name.lower().rsplit(".", 1)[-1] if "." in out.name else ""
    by_suffix = {"csv": Format.csv, "parquet": Format.parquet, "ndjson": Format.ndjson}
    if suffix == "jsonl":
        return Format.ndjson
    if suffix not in by_suffix:
        raise ConfigError(
            f"--out {out.name}: cannot tell the format from the file name; give --format "
            "csv, parquet or ndjson"
        )
    return by_suffix[suffix]


def _run_sql(con: Any, sql: str, out: Path, fmt: Format) -> int:
    """Write the view's rows to `out` (through a temporary file, so no half-written output)."""
    import duckdb

    from medmine.warehouse.sql import literal

    tmp = out.with_name(f".{out.name}.partial")
    con.execute("SET enable_progress_bar = false")
    try:
        con.execute(f"COPY ({sql}) TO {literal(str(tmp))} ({_COPY[fmt]})")
        n = int(con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0])
    except duckdb.Error as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(_data_error(exc)) from None
    os.replace(tmp, out)
    return n


def _data_error(exc: Exception) -> str:
    """The reason a view failed on the data, without echoing any data value."""
    text = str(exc)
    for known in ("a column path returned several values", "ofType", "several items"):
        if known in text:
            line = next(ln for ln in text.splitlines() if known in ln)
            return f"the view failed on the data: {line.split(': ', 1)[-1]}"
    return (
        f"the view failed on the data ({type(exc).__name__}: a value does not fit a column's "
        "type or an expression); check the view's column types and paths"
    )


@app.command("run")
@friendly_errors
def run(
    view_file: Annotated[Path, typer.Argument(help="ViewDefinition JSON file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file.")],
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="FHIR files or folders (.json, .json.gz, .ndjson, .ndjson.gz); without any, "
            "the warehouse's raw FHIR store is read."
        ),
    ] = None,
    fmt: Annotated[
        Format | None,
        typer.Option("--format", "-f", help="csv, parquet or ndjson (default: from --out)."),
    ] = None,
    warehouse: WarehouseOpt = None,
    load_id: Annotated[
        str | None,
        typer.Option("--load", help="With the warehouse: only resources of this load id."),
    ] = None,
) -> None:
    """Run a ViewDefinition and write its rows to a CSV, Parquet or NDJSON file.

    Inputs that cannot be read, or hold no FHIR resource, are named with the reason and exit
    with code 3 (the rows of the other inputs are still written).
    """
    import duckdb

    from medmine.fhir.views import compile_view
    from medmine.ingest.fhir import stage_files, stage_warehouse
    from medmine.warehouse import Warehouse

    view = _read_view(view_file)
    form = _format_of(out, fmt)
    compiled = compile_view(view, "resources", "resource", typed=True)
    rtype = view.get("resource")
    if out.exists() and out.is_dir():
        raise ConfigError(f"--out {out} is a folder; give a file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    failed = []
    if inputs:
        con = duckdb.connect()
        rep = stage_files(inputs, con, resource_type=rtype)
        source = f"{rep.resources:,} {rtype} resources from {rep.files} file(s)"
        for p in rep.problems[:_SHOWN]:
            err_console.print(
                f"warning: {p.source_file}: {p.location}: {p.reason}", highlight=False
            )
        if len(rep.problems) > _SHOWN:
            err_console.print(f"warning: {len(rep.problems) - _SHOWN} more problems not shown")
        failed = rep.failed_files
        n = _run_sql(con, compiled.sql, out, form)
        con.close()
    else:
        with Warehouse(existing_warehouse(warehouse), read_only=True) as wh:
            total = wh.count("mm_fhir_resource")
            if not total:
                raise ConfigError(
                    "the warehouse holds no raw FHIR resources (mm_fhir_resource is empty); "
                    "load FHIR with `medmine ingest fhir`, or give FHIR files as inputs"
                )
            k = stage_warehouse(wh.con, resource_type=rtype, load_id=load_id)
            source = f"{k:,} {rtype} resources from the warehouse's raw store"
            n = _run_sql(wh.con, compiled.sql, out, form)
    console.print(
        f"{n:,} rows ({len(compiled.columns)} columns) from {source} -> {out}", soft_wrap=True
    )
    if failed:
        names = "; ".join(f"{p.source_file}: {p.reason}" for p in failed)
        raise fail(f"{len(failed)} input(s) not read: {names}", EXIT_INPUT)
