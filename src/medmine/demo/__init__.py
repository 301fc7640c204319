"""The demo pipeline: build a warehouse from the bundled samples, run each stage, write the
report index. Each stage contributes one step; steps run in order and add report links.

The demo only calls the stages' public API (the same functions the CLI commands call); it is
the one place allowed to hand simulated data (`medmine.synth`) to a study, and says so on the
pages where it does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from medmine.report import ReportLink, page_context, write_index

#: Environment variable naming the folder of bundled samples (for installed copies).
SAMPLES_ENV = "MEDMINE_SAMPLES"


def samples_dir() -> Path:
    """Folder of bundled sample data (``data/samples`` in the repository)."""
    env = os.environ.get(SAMPLES_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "data" / "samples"


@dataclass
class DemoContext:
    """State shared by the demo steps."""

    warehouse: str
    reports_dir: Path
    console: Console
    samples: Path = field(default_factory=samples_dir)
    links: list[ReportLink] = field(default_factory=list)
    load_reports: list[Any] = field(default_factory=list)


Step = Callable[[DemoContext], None]


def _steps() -> list[tuple[str, Step]]:
    # Imported lazily so that `medmine --help` stays fast.
    from medmine.demo.formats_step import formats_step
    from medmine.demo.ingest_step import ingest_step
    from medmine.demo.medication_safety_step import medication_safety_step
    from medmine.demo.nlp_step import nlp_step
    from medmine.demo.patterns_step import patterns_step
    from medmine.demo.prediction_step import studies_step
    from medmine.demo.privacy_step import privacy_step
    from medmine.demo.quality_step import quality_step
    from medmine.demo.serve_step import serve_step
    from medmine.demo.surveillance_step import surveillance_step
    from medmine.demo.synthea_step import synthea_step

    return [
        ("ingest", ingest_step),
        ("formats", formats_step),
        ("quality", quality_step),
        ("privacy", privacy_step),
        ("studies", studies_step),
        ("synthea", synthea_step),
        ("patterns", patterns_step),
        ("surveillance", surveillance_step),
        ("medication safety", medication_safety_step),
        ("clinical NLP", nlp_step),
        ("serve", serve_step),
    ]


def run_demo(
    warehouse: str, reports_dir: str | Path, *, console: Console | None = None, fresh: bool = True
) -> Path:
    """Run every demo step and write ``reports_dir/index.html``; returns the index path."""
    console = console or Console()
    reports = Path(reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    if fresh and warehouse != ":memory:":
        for suffix in ("", ".wal"):
            Path(warehouse + suffix).unlink(missing_ok=True)
    ctx = DemoContext(warehouse=warehouse, reports_dir=reports, console=console)
    for name, step in _steps():
        console.rule(f"[bold]{name}")
        step(ctx)
    from medmine.warehouse import Warehouse

    with Warehouse(warehouse, read_only=warehouse != ":memory:") as wh:
        page = page_context(wh, command="medmine demo")
    return write_index(
        reports,
        ctx.links,
        intro=f"Built from the bundled samples into <code>{page.warehouse}</code>.",
        context=page,
    )
