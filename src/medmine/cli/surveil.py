"""`medmine surveil detect COUNTS.csv` (alarms for a CSV) and `surveil run` (a warehouse)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medmine.cli._common import WarehouseOpt, console, existing_warehouse, friendly_errors

app = typer.Typer(help="Outbreak detection over count series.", no_args_is_help=True)

MethodOpt = Annotated[
    str,
    typer.Option(
        "--method",
        "-m",
        help="ears-c1, ears-c2, ears-c3, farrington, nbcusum, glr (NB) or glr-poisson.",
    ),
]


@app.command("detect")
@friendly_errors
def detect(
    counts: Annotated[Path, typer.Argument(help="CSV with date,count and optionally area.")],
    method: MethodOpt = "ears-c2",
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output CSV (input rows plus the results).")
    ] = Path("alarms.csv"),
    fill_gaps: Annotated[
        bool, typer.Option("--fill-gaps", help="Count missing periods as 0 instead of failing.")
    ] = False,
    fdr: Annotated[
        float, typer.Option("--fdr", help="False-discovery rate across areas (alarm_fdr).")
    ] = 0.05,
    baseline: Annotated[
        int | None,
        typer.Option(
            "--baseline", help="Periods used as baseline (default: the method's minimum)."
        ),
    ] = None,
) -> None:
    """Add expected, threshold and alarm to every row of COUNTS (daily, weekly or monthly).

    Rows inside the baseline have status ``baseline`` and no expected value; every later
    period is judged using earlier periods only.
    """
    from medmine.surveillance.monitor import monitor_table
    from medmine.surveillance.series import read_counts_csv

    table = read_counts_csv(counts, fill_gaps=fill_gaps)
    res = monitor_table(table, method, fdr_level=fdr, baseline=baseline)
    f = res.frame.copy()
    f["date"] = f["date"].dt.date.astype(str)
    f["count"] = f["count"].astype(int)
    cols = ["date", "area", "count", "expected", "threshold", "alarm", "pvalue", "status"]
    if len(table.areas) > 1:
        cols[6:6] = ["qvalue", "alarm_fdr"]
    elif table.areas == ["all"]:
        cols.remove("area")
    out.parent.mkdir(parents=True, exist_ok=True)
    f[cols].round(4).to_csv(out, index=False)
    console.print(
        f"{counts.name}: {len(table.areas)} area(s), {len(table.dates)} {table.freq} periods, "
        f"baseline {res.baseline_periods}; {res.n_alarms} {method} alarm(s)"
    )
    for w in res.warnings:
        console.print(f"  [yellow]warning:[/yellow] {w}", soft_wrap=True)
    console.print(f"[green]written:[/green] {out}")


@app.command("run")
@friendly_errors
def run(
    warehouse: WarehouseOpt = None,
    syndrome: Annotated[
        list[str] | None,
        typer.Option(
            "--syndrome", "-s", help="ILI, GI, respiratory, rash or one from --syndromes."
        ),
    ] = None,
    syndromes: Annotated[
        Path | None, typer.Option("--syndromes", help="YAML or JSON file of syndrome definitions.")
    ] = None,
    method: MethodOpt = "farrington",
    area: Annotated[str, typer.Option("--area", help="state, zip3, county or none.")] = "state",
    by_age: Annotated[
        bool, typer.Option("--by-age", help="One series per area x age band.")
    ] = False,
    freq: Annotated[str, typer.Option("--freq", help="daily, weekly or monthly.")] = "weekly",
    start: Annotated[str | None, typer.Option("--start", help="First date (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last date (YYYY-MM-DD).")] = None,
    evaluate: Annotated[
        bool,
        typer.Option("--evaluate", help="Also evaluate the detectors on simulations (~1 min)."),
    ] = False,
    out: Annotated[Path, typer.Option("--out", help="Folder for the page and tables.")] = Path(
        "reports"
    ),
) -> None:
    """Count syndromes in the warehouse, run the detectors, write the surveillance page."""
    from medmine.cli._common import out_folder
    from medmine.report import page_context
    from medmine.report.study_pages import write_study
    from medmine.studies import audit_study, get_study
    from medmine.warehouse import Warehouse

    study = get_study("surveillance")
    opts = {
        "method": method,
        "area": area,
        "by_age": by_age,
        "freq": freq,
        "start": start,
        "end": end,
        "evaluate": evaluate,
        "syndrome_file": syndromes,
    }
    if syndrome:
        opts["syndromes"] = tuple(syndrome)
    cfg = study.make_config({k: v for k, v in opts.items() if v is not None})
    folder = out_folder(out)
    with Warehouse(existing_warehouse(warehouse)) as wh:
        with console.status("counting syndromes and running the detectors…"):
            result = study.run(wh, cfg)
        link = write_study(result, folder, context=page_context(wh))
        audit_study(wh, "surveillance", link.summary, purpose=cfg.purpose or "public_health")
    tab = result.syndrome_table()
    for r in tab[tab["method"] == method].to_dict("records"):
        console.print(
            f"{r['syndrome']}: {r['alarms']} alarm(s), {r['alarms after FDR']} after FDR "
            f"({r['areas']} area(s), {r['monitored periods']} periods monitored)"
        )
    for n in result.notes:
        console.print(f"  [yellow]note:[/yellow] {n}", soft_wrap=True)
    console.print(f"[green]page:[/green] {folder / link.href}")
