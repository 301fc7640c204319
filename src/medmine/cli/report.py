"""`medmine report`: the index and every page for an existing warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medmine.cli._common import (
    WarehouseOpt,
    console,
    existing_warehouse,
    fail,
    friendly_errors,
    parse_options,
)
from medmine.errors import ConfigError


def study_options(pairs: list[str] | None) -> dict[str, dict[str, str]]:
    """``["readmission.n_boot=20", ...]`` as ``{"readmission": {"n_boot": "20"}}``."""
    out: dict[str, dict[str, str]] = {}
    for key, value in parse_options(pairs).items():
        name, dot, option = key.partition(".")
        if not dot or not name or not option:
            raise ConfigError(
                f"--option takes STUDY.key=value (e.g. readmission.n_boot=50); got {key!r}"
            )
        out.setdefault(name, {})[option] = value
    return out


@friendly_errors
def report(
    warehouse: WarehouseOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the report pages.")] = Path(
        "reports"
    ),
    study: Annotated[
        list[str] | None,
        typer.Option("--study", help="Only this study (repeatable; default: every study)."),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="Study setting as STUDY.key=value (repeatable); unknown keys are refused.",
        ),
    ] = None,
) -> None:
    """Write index.html and every page for a warehouse: loads, quality, profile, studies.

    A study whose data are missing is listed on the index as not run, with the reason.
    """
    from medmine.run import build_report

    path = existing_warehouse(warehouse)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the report pages")
    # build_report checks every study and option before anything runs
    built = build_report(path, out, studies=study, options=study_options(option), console=console)
    for name, reason in built.not_run.items():
        console.print(f"[yellow]not run[/yellow] {name}: {reason}")
    console.print(f"[green]report:[/green] {built.index}", soft_wrap=True)
    if built.failed:
        names = ", ".join(built.failed)
        raise fail(f"{len(built.failed)} study(ies) failed ({names}); see the messages above")
