from __future__ import annotations

from medmine.ingest import omop
from medmine.report.loads_page import write_loads_page

from ..conftest import TEST_DATA


def test_loads_page_shows_reconciliation_and_reasons(wh, tmp_path):
    report = omop.load(TEST_DATA / "omop_csv", wh)
    page = write_loads_page(tmp_path / "loads.html", [report], wh.counts()).read_text()
    assert report.load_id in page
    assert "missing_field" in page and "invalid_value" in page
    assert "nineteen" not in page  # quarantined values never reach a page
    assert ">person<" in page
