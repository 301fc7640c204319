"""`--engine spark` for `ingest fhir` and `quality`, `medmine spark rules` (MLlib FPGrowth) and
`medmine spark profile` (the warehouse profile computed with Spark SQL).

With ``--engine spark`` the ``--warehouse`` path is a Parquet lake folder (written by
``medmine ingest fhir --engine spark``) or a ``medmine warehouse export`` folder; ``--master``
is ``local[N]`` (default ``local[2]``) or a standalone master URL (``spark://host:7077``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from medmine.cli._common import console, friendly_errors, out_folder
from medmine.errors import ConfigError

app = typer.Typer(
    help="The Spark engine on a Parquet lake: association rules (MLlib) and profiling."
)

ENGINES = ("duckdb", "spark")
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="duckdb (a warehouse file, default) or spark (a Parquet lake folder; needs Java "
        "and the spark extra).",
    ),
]
MasterOpt = Annotated[
    str,
    typer.Option("--master", help="Spark master: local[N] or spark://host:port (--engine spark)."),
]


def check_engine(engine: str) -> bool:
    """True for Spark; raise a one-line error for an unknown engine."""
    if engine not in ENGINES:
        raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    return engine == "spark"


def _lake_path(warehouse: Path | None) -> Path:
    if warehouse is None:
        raise ConfigError("--engine spark needs --warehouse LAKE_FOLDER (a Parquet lake)")
    return warehouse


def ingest_fhir_spark(paths: list[Path], warehouse: Path | None, master: str) -> None:
    """`medmine ingest fhir --engine spark`: load into the lake and print the load report."""
    from medmine.cli._common import render_load_report
    from medmine.spark import ingest_fhir, spark_session

    lake = _lake_path(warehouse)
    session = spark_session(master)
    try:
        report = ingest_fhir(paths, lake, session)
    finally:
        session.stop()
    render_load_report(report)
    console.print(
        f"[green]lake:[/green] {lake} ({report.files} new files; loads are atomic and "
        "re-loading a file adds nothing)"
    )


def quality_spark(
    warehouse: Path | None, out: Path, check_type: list[str] | None, settings: Any, master: str
) -> None:
    """`medmine quality --engine spark`: the same checks on Spark; writes quality.json."""
    from medmine.quality import run_checks
    from medmine.spark import SparkWarehouse, spark_session

    lake = _lake_path(warehouse)
    out = out_folder(out)
    session = spark_session(master)
    try:
        wh = SparkWarehouse(lake, session)
        run = run_checks(
            wh, types=check_type or None, settings=settings, store=False, compare=False
        )
        data = run.write_json(out / "quality.json")
    finally:
        session.stop()
    s = run.summary
    t = Table(title=f"quality run {run.run_id} on Spark ({run.duration_s:.1f} s)")
    for col in ("checks", "pass", "fail", "n/a", "error"):
        t.add_column(col, justify="right")
    t.add_row(*(f"{s[k]:,}" for k in ("checks", "pass", "fail", "not_applicable", "error")))
    console.print(t)
    console.print(f"[green]data:[/green] {data} (results are not stored back into the lake)")


@app.command("rules")
@friendly_errors
def rules(
    lake: Annotated[Path, typer.Argument(help="Parquet lake or `warehouse export` folder.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for rules.json.")] = Path("reports"),
    min_support: Annotated[float, typer.Option("--min-support")] = 0.05,
    min_confidence: Annotated[float, typer.Option("--min-confidence")] = 0.5,
    max_len: Annotated[int, typer.Option("--max-len")] = 3,
    by: Annotated[str, typer.Option("--by", help="person or visit")] = "person",
    master: MasterOpt = "local[2]",
) -> None:
    """Frequent itemsets and rules of conditions and drugs with Spark MLlib's FPGrowth."""
    from medmine.spark import SparkWarehouse, spark_session
    from medmine.spark.connection import check_lake
    from medmine.spark.rules import spark_fpgrowth

    check_lake(lake)  # before creating --out or starting Spark
    out = out_folder(out)
    session = spark_session(master)
    try:
        wh = SparkWarehouse(lake, session)
        res = spark_fpgrowth(
            wh, min_support=min_support, min_confidence=min_confidence, max_len=max_len, by=by
        )
    finally:
        session.stop()
    rows = [
        {
            "antecedent": sorted(r.antecedent),
            "consequent": sorted(r.consequent),
            "confidence": r.confidence,
            "lift": r.lift,
            "support": r.support,
        }
        for r in res.rules.sort_values("lift", ascending=False).itertuples(index=False)
    ]
    path = out / "rules.json"
    path.write_text(
        json.dumps(
            {"n_transactions": res.n_transactions, "itemsets": len(res.itemsets), "rules": rows},
            indent=1,
        )
    )
    console.print(
        f"{res.n_transactions:,} transactions, {len(res.itemsets):,} frequent itemsets, "
        f"{len(rows):,} rules (MLlib FPGrowth)"
    )
    console.print(f"[green]rules:[/green] {path}")


@app.command("profile")
@friendly_errors
def profile(
    lake: Annotated[Path, typer.Argument(help="Parquet lake or `warehouse export` folder.")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for profile.html and profile.json.")
    ] = Path("reports"),
    master: MasterOpt = "local[2]",
) -> None:
    """Profile every table on Spark: the statistics of `medmine quality profile` (null rates,
    distinct counts, ranges, top codes, records per year and per person).
    """
    import dataclasses

    from medmine.quality.profile import profile_warehouse
    from medmine.report.profile_page import write_profile_page
    from medmine.spark import SparkWarehouse, spark_session
    from medmine.spark.connection import check_lake

    check_lake(lake)  # before creating --out or starting Spark
    out = out_folder(out)
    session = spark_session(master)
    try:
        prof = profile_warehouse(SparkWarehouse(lake, session))  # type: ignore[arg-type]
    finally:
        session.stop()
    data = out / "profile.json"
    data.write_text(json.dumps(dataclasses.asdict(prof), indent=1, default=str))
    page = write_profile_page(out / "profile.html", prof)
    console.print(
        f"profiled {len(prof.tables)} non-empty tables, {prof.total_rows:,} rows (Spark SQL)"
    )
    console.print(f"[green]page:[/green] {page}\n[green]data:[/green] {data}")
