"""Pages from what the warehouse records: load reports rebuilt from ``mm_load``."""

from __future__ import annotations

from medmine.ingest import claims, fhir
from medmine.run.pages import load_reports, loads_link
from medmine.warehouse import Warehouse

from ..conftest import TEST_DATA


def test_load_reports_are_rebuilt_from_mm_load_with_every_count(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        given = [fhir.load([TEST_DATA / "fhir"], wh), claims.load([TEST_DATA / "claims"], wh)]
        rebuilt = load_reports(wh)
        link = loads_link(wh, tmp_path / "reports")
    assert [r.load_id for r in rebuilt] == [r.load_id for r in given]
    for old, new in zip(given, rebuilt, strict=True):
        assert new.counts == old.counts
        assert new.quarantine_reasons == old.quarantine_reasons
        assert (new.status, new.source_kind, new.files) == (old.status, old.source_kind, old.files)
        assert new.reconciles
    assert link.href == "loads.html" and (tmp_path / "reports" / "loads.html").exists()
    assert link.summary.startswith("2 loads, 41 records read, 3 quarantined; all reconcile")


def test_an_empty_warehouse_says_no_loads_are_recorded(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        link = loads_link(wh, tmp_path)
    assert "no loads recorded" in link.summary and link.status == "warn"
