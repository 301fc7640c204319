"""`medmine run PIPELINE.yaml` (your own data to a report, resumably) and `medmine init`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from medmine.cli._common import console, friendly_errors


@friendly_errors
def run(
    pipeline: Annotated[
        Path, typer.Argument(help="Pipeline file (write a starter with `medmine init`).")
    ] = Path("pipeline.yaml"),
    force: Annotated[
        bool,
        typer.Option("--force", help="Run every stage, even those whose inputs are unchanged."),
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only check the pipeline file; run nothing.")
    ] = False,
) -> None:
    """Load, check, de-identify, run the studies and write the report, as PIPELINE says.

    Stages whose inputs are unchanged since they last finished are skipped.
    A failed stage stops the run with exit code 1; the next run resumes there.
    """
    from medmine.run import load_pipeline, run_pipeline

    p = load_pipeline(pipeline)
    if check:
        studies = ", ".join(s.name for s in p.studies) or "none"
        console.print(
            f"{pipeline}: ok; {len(p.sources)} sources, quality "
            f"{'on' if p.quality else 'off'}, deid {'on' if p.deid else 'off'}, studies: {studies}"
        )
        return
    result = run_pipeline(p, console=console, force=force)
    _print_outcomes(result.outcomes, result.duration_s)
    result.raise_for_failure()
    console.print(f"[green]report:[/green] {result.index}", soft_wrap=True)


def _print_outcomes(outcomes: list, duration_s: float) -> None:
    """The status table: each stage with done / skipped / failed / not run and its time."""
    styles = {"done": "green", "skipped": "cyan", "failed": "red", "not run": "dim"}
    t = Table(title="stages")
    t.add_column("stage")
    t.add_column("status")
    t.add_column("time", justify="right")
    for o in outcomes:
        status = "skipped (unchanged)" if o.status == "skipped" else o.status
        time = "" if o.status in ("skipped", "not run") else f"{o.duration_s:.1f} s"
        t.add_row(o.name, f"[{styles.get(o.status, '')}]{status}[/]", time)
    console.print(t)
    counts = {s: sum(o.status == s for o in outcomes) for s in styles}
    console.print(
        f"{counts['done']} done, {counts['skipped']} skipped as unchanged, "
        f"{counts['failed']} failed, {counts['not run']} not run; {duration_s:.1f} s in all "
        "(inputs fingerprinted included)"
    )


@friendly_errors
def init(
    path: Annotated[
        Path, typer.Argument(help="File to write (a folder gets pipeline.yaml).")
    ] = Path("pipeline.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter pipeline file to edit and then `medmine run`."""
    from medmine.run import write_starter

    target = write_starter(path, force=force)
    console.print(
        f"wrote {target}: set your sources and studies, check it with `medmine run {target} "
        f"--check`, then run `medmine run {target}`"
    )


def register(app: typer.Typer) -> None:
    """Add `run`, `init` and `report` to the main `medmine` app."""
    from medmine.cli.report import report

    app.command("run")(run)
    app.command("init")(init)
    app.command("report")(report)
