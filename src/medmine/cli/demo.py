"""`medmine demo`: build a warehouse from the bundled samples, run every stage, write reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medmine.cli._common import WarehouseOpt, console, friendly_errors
from medmine.config import warehouse_path


@friendly_errors
def demo(
    warehouse: WarehouseOpt = None,
    reports: Annotated[Path, typer.Option(help="Folder for the HTML report.")] = Path("reports"),
    fresh: Annotated[bool, typer.Option(help="Delete the warehouse first.")] = True,
) -> None:
    """Build a warehouse from the bundled samples, run every stage and write the report."""
    from medmine.demo import run_demo

    index = run_demo(warehouse_path(warehouse), reports, console=console, fresh=fresh)
    console.print(f"[green]report:[/green] {index}")
