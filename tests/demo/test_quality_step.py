from __future__ import annotations

from pathlib import Path

from rich.console import Console

from medmine.demo import DemoContext
from medmine.demo.quality_step import quality_step

from ..quality.conftest import planted_warehouse


def test_demo_step_writes_pages_and_links(tmp_path, monkeypatch):
    import functools

    import medmine.demo.quality_step

    subset = functools.partial(medmine.demo.quality_step.run_checks, types=["start_before_end"])
    monkeypatch.setattr(medmine.demo.quality_step, "run_checks", subset)
    db = tmp_path / "d.duckdb"
    planted_warehouse(db).close()
    ctx = DemoContext(
        warehouse=str(db), reports_dir=Path(tmp_path / "r"), console=Console(quiet=True)
    )
    quality_step(ctx)
    assert (tmp_path / "r" / "quality.html").exists()
    assert (tmp_path / "r" / "profile.html").exists()
    titles = [link.title for link in ctx.links]
    assert titles == ["Data quality", "Profile"]
    assert ctx.links[0].status == "warn"
