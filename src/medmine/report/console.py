"""Terminal renderings shared by the CLI and the demo: load reports and table counts (Rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def load_report_table(report: Any) -> Table:
    """A load report as a table: per record type, read = loaded + skipped + quarantined."""
    t = Table(title=f"load {report.load_id} ({report.status}, {report.duration_s:.1f} s)")
    for col in ("type", "read", "loaded", "skipped", "quarantined", "warnings", "ok"):
        t.add_column(col, justify="left" if col == "type" else "right")
    for rtype, c in report.counts.items():
        t.add_row(
            rtype,
            f"{c.read:,}",
            f"{c.loaded:,}",
            f"{c.skipped:,}",
            f"{c.quarantined:,}",
            f"{c.warnings:,}",
            "[green]✓[/green]" if c.reconciles else "[red]✗[/red]",
        )
    tot = report.totals
    t.add_row(
        "[b]total[/b]",
        f"{tot.read:,}",
        f"{tot.loaded:,}",
        f"{tot.skipped:,}",
        f"{tot.quarantined:,}",
        f"{tot.warnings:,}",
        "",
    )
    return t


def print_load_report(report: Any, console: Console) -> None:
    """Print the load-report table and the reasons for quarantined, skipped, warned records."""
    console.print(load_report_table(report))
    for label, reasons in (
        ("quarantined", report.quarantine_reasons),
        ("skipped", report.skip_reasons),
        ("warnings", report.warning_reasons),
    ):
        if reasons:
            console.print(f"  {label}: " + ", ".join(f"{k}={v:,}" for k, v in reasons.items()))


def print_table_counts(counts: dict[str, int], console: Console, *, title: str = "") -> None:
    """Print the non-empty warehouse tables with their row counts."""
    t = Table(title=title or "warehouse tables")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in counts.items():
        if n:
            t.add_row(name, f"{n:,}")
    console.print(t)
