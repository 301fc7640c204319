"""`medmine study NAME` (any registered study, to a page plus JSON/Parquet/CSV) and `score`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from medmine.cli._common import (
    WarehouseOpt,
    console,
    existing_warehouse,
    fail,
    friendly_errors,
    out_folder,
    parse_options,
)
from medmine.errors import ConfigError


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
    drug: Annotated[
        str | None,
        typer.Option(help="Drug of studies that take one (drug_safety): concept id or VOCAB:code."),
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(
            help="Outcome of studies that take one (drug_safety): concept id or VOCAB:code."
        ),
    ] = None,
    save_model: Annotated[
        Path | None,
        typer.Option(
            "--save-model",
            help="Folder to save the fitted models in (prediction studies), for "
            "`medmine score --model`; e.g. reports/models.",
        ),
    ] = None,
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
    options = parse_options(option)
    for key, value in (("drug", drug), ("outcome", outcome)):
        if value is not None:
            options[key] = value  # refused by make_config for studies without the setting
    config = s.make_config(options)
    if save_model is not None:
        config = _with_model_dir(name, config, save_model)
    wh_path = existing_warehouse(warehouse)  # before any folder is created
    out = out_folder(out)
    with Warehouse(wh_path) as wh:
        with console.status(f"running study {name} (cohort, models, evaluation)…"):
            result = s.run(wh, config)
        link = write_study(result, out, context=page_context(wh))
        audit_study(wh, name, link.summary)
    console.print(f"{link.title}: {link.summary}")
    for note in result.notes:
        console.print(f"  note: {note}")
    console.print(f"[green]page:[/green] {Path(out) / link.href}")
    saved = getattr(result, "saved_models", None) or {}
    for label, path in saved.items():
        console.print(f"[green]model ({label}):[/green] {path}", soft_wrap=True)
    if saved:
        first = next(iter(saved.values()))
        console.print(
            f"score a person: medmine score --model {first} --person ID -w {wh_path}",
            soft_wrap=True,
        )
    elif save_model is not None:
        raise fail(_nothing_saved(name, result))
    if result.status == "fail":
        raise typer.Exit(1)


def _with_model_dir(name: str, config: Any, folder: Path) -> Any:
    """`config` saving its fitted models into `folder` (refused for studies without models)."""
    from medmine.studies import get_study, study_names

    def takes_models(cfg: Any) -> bool:
        return any(f.name == "model_dir" for f in dataclasses.fields(cfg))

    if not takes_models(config):
        which = [n for n in study_names() if takes_models(get_study(n).config_class)]
        raise ConfigError(
            f"--save-model: study {name!r} fits no model to save; it applies to the prediction "
            f"studies ({', '.join(which)})"
        )
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--save-model {folder} is a file; give a folder for the saved models")
    return dataclasses.replace(config, model_dir=folder)


def _nothing_saved(name: str, result: Any) -> str:
    """Why `--save-model` saved nothing (the page was still written)."""
    if not getattr(result, "models", None):
        return (
            f"--save-model: study {name!r} fitted no model (see the notes above), so none was "
            "saved; the page was written"
        )
    return (
        f"--save-model: study {name!r} does not save its models for scoring (`medmine score` "
        "takes the binary prediction studies: disease_risk, readmission); the page was written"
    )


@friendly_errors
def score(
    model: Annotated[Path, typer.Option("--model", help="Saved model (.skops with manifest).")],
    person: Annotated[int, typer.Option("--person", help="person_id to score.")],
    warehouse: WarehouseOpt = None,
    index_date: Annotated[
        str | None,
        typer.Option(
            "--index-date",
            help="Index date, YYYY-MM-DD (default: the study's own index event, e.g. the end "
            "of the last inpatient stay for readmission).",
        ),
    ] = None,
    top: Annotated[int, typer.Option(help="Contributions to show.")] = 10,
    trust_unsigned: Annotated[
        bool,
        typer.Option(
            "--trust-unsigned",
            help="Load a model whose manifest is not authenticated by MEDMINE_MODEL_KEY.",
        ),
    ] = False,
) -> None:
    """Score one person with a saved model and show the top SHAP contributions.

    The read is recorded in the warehouse's audit log (model and purpose, never the person).
    """
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
    if not model.is_file():
        raise ConfigError(
            f"--model {model}: no such file; give a .skops model saved by "
            "`medmine study NAME --save-model DIR`"
        )
    with Warehouse(existing_warehouse(warehouse)) as wh:
        s = score_person(model, wh, person, index_date, top=top, trust_unsigned=trust_unsigned)
    from rich.text import Text

    # Feature names and notes hold brackets ("[any,-1]"): printed as literal text, no markup.
    console.print(
        Text(f"person {s.person_id} at {s.index_date}: risk ").append(f"{s.risk:.3f}", style="bold")
    )
    for note in s.notes:
        console.print(Text(f"  note: {note}"))
    for warning in s.warnings:
        console.print(Text(f"  warning: {warning}", style="yellow"))
    t = Table(title="top contributions (SHAP, log-odds)")
    for col in ("covariate", "value", "contribution"):
        t.add_column(col, justify="left" if col == "covariate" else "right")
    for r in s.explanation.itertuples():
        t.add_row(Text(str(r.feature)), f"{r.value:g}", f"{r.shap:+.3f}")
    console.print(t)
    console.print(Text(f"model sha256 {s.model_sha256[:16]}…; model card: {s.model_card_ref}"))
