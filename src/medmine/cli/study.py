"""`medmine study NAME` (any registered study, to a page plus JSON/Parquet/CSV) and `score`."""

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
    parse_options,
)


@friendly_errors
def study(
    name: Annotated[str, typer.Argument(help="Study name (see `medmine study --list`).")] = "",
    warehouse: WarehouseOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the study page.")] = Path(
        "reports"
    ),
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="Study setting as key=value (repeatable); unknown keys are refused.",
        ),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the studies and exit.")] = False,
) -> None:
    """Run a study and write ``<out>/study_<name>.html`` with its JSON and tables."""
    from medmine.report import page_context
    from medmine.report.study_pages import write_study
    from medmine.studies import audit_study, get_study, study_names
    from medmine.warehouse import Warehouse

    if list_ or not name:
        for n in study_names():
            s = get_study(n)
            fields = ", ".join(f.name for f in s.config_class.__dataclass_fields__.values())
            console.print(f"[b]{n}[/b]: {s.title}\n  options: {fields}")
        return
    s = get_study(name)
    config = s.make_config(parse_options(option))
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"--out {out} is a file; give a folder for the study page")
    with Warehouse(existing_warehouse(warehouse)) as wh:
        result = s.run(wh, config)
        link = write_study(result, out, context=page_context(wh))
        audit_study(wh, name, link.summary)
    console.print(f"{link.title}: {link.summary}")
    for note in result.notes:
        console.print(f"  note: {note}")
    console.print(f"[green]page:[/green] {Path(out) / link.href}")
    if result.status == "fail":
        raise typer.Exit(1)


@friendly_errors
def score(
    model: Annotated[Path, typer.Option("--model", help="Saved model (.skops with manifest).")],
    person: Annotated[int, typer.Option("--person", help="person_id to score.")],
    warehouse: WarehouseOpt = None,
    index_date: Annotated[
        str | None,
        typer.Option("--index-date", help="Index date, YYYY-MM-DD (default: end of last visit)."),
    ] = None,
    top: Annotated[int, typer.Option(help="Contributions to show.")] = 10,
) -> None:
    """Score one person with a saved model and show the top SHAP contributions."""
    import datetime as dt

    from medmine.errors import ConfigError
    from medmine.studies.scoring import score_person
    from medmine.warehouse import Warehouse

    if index_date is not None:
        try:
            dt.date.fromisoformat(index_date)
        except ValueError:
            raise ConfigError(
                f"--index-date must be a date as YYYY-MM-DD; got {index_date!r}"
            ) from None
    with Warehouse(existing_warehouse(warehouse), read_only=True) as wh:
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
