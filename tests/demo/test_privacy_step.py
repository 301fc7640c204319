from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from medmine.demo import DemoContext
from medmine.demo.privacy_step import privacy_step

from ..privacy.conftest import build_identified, default_people

REPO = Path(__file__).resolve().parents[2]


def test_privacy_step_writes_page_without_phi(tmp_path: Path, monkeypatch) -> None:
    people = default_people()
    monkeypatch.delenv("MEDMINE_DEID_KEY", raising=False)
    src = build_identified(tmp_path / "w.duckdb", people)
    samples = tmp_path / "samples"
    samples.mkdir()
    shutil.copy(REPO / "data" / "samples" / "consent.csv", samples / "consent.csv")
    (samples / "consent.csv").open("a").write(f"{people[0].source_value},research,deny,,\n")
    ctx = DemoContext(str(src), tmp_path / "reports", Console(quiet=True), samples=samples)
    privacy_step(ctx)
    page = (tmp_path / "reports" / "privacy.html").read_text()
    assert ctx.links and ctx.links[0].href == "privacy.html"
    assert "ephemeral key" in page and "[NAME]" in page
    for p in people:
        for v in (p.given, p.family, p.street, p.phone, p.ssn, p.mrn, p.email):
            assert v not in page
    assert (tmp_path / "medmine_deid.duckdb").exists()
