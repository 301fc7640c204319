from __future__ import annotations

from rich.console import Console

from medmine.demo import DemoContext
from medmine.demo import formats_step as step


def test_format_agreement_page_on_two_sample_patients(tmp_path, monkeypatch):
    monkeypatch.setattr(step, "PATIENTS", 2)
    ctx = DemoContext(
        warehouse=str(tmp_path / "main.duckdb"),
        reports_dir=tmp_path / "reports",
        console=Console(file=open(tmp_path / "log.txt", "w")),  # noqa: SIM115
    )
    ctx.reports_dir.mkdir()
    step.formats_step(ctx)
    (link,) = ctx.links
    assert link.href == "formats.html"
    assert "2 sample patients" in link.summary
    assert "tables agree bundles vs NDJSON" in link.summary and link.status != "fail"
    page = (ctx.reports_dir / "formats.html").read_text(encoding="utf-8")
    assert "FHIR bundles vs Synthea CSV" in page and "pending FHIR" not in page
    assert "Nothing compared" not in page
