from __future__ import annotations

import datetime as dt

import medmine
from medmine.ingest import omop
from medmine.report import ReportLink, page_context, render_page, write_index
from medmine.report.context import IN_MEMORY, NOT_RECORDED, PageContext
from medmine.warehouse import Warehouse

from ..conftest import TEST_DATA


def test_context_names_version_time_file_name_and_load_ids(wh):
    report = omop.load(TEST_DATA / "omop_csv", wh)
    ctx = page_context(wh, command="medmine demo")
    assert ctx.version == medmine.__version__
    assert ctx.warehouse == "test.duckdb"  # the file name, never its folder
    assert ctx.loads == (report.load_id,)
    assert ctx.generated.tzinfo is not None and ctx.generated_text.endswith("UTC")
    doc = ctx.to_dict()
    assert doc["loads"] == [report.load_id] and doc["command"] == "medmine demo"
    assert "/" not in doc["warehouse"]


def test_context_of_memory_and_unknown_warehouses():
    with Warehouse(":memory:") as w:
        assert page_context(w).warehouse == IN_MEMORY
    assert page_context(None).warehouse == NOT_RECORDED


def test_every_page_and_the_index_show_their_identity(tmp_path, wh):
    report = omop.load(TEST_DATA / "omop_csv", wh)
    ctx = page_context(wh)
    page = render_page(tmp_path / "p.html", "P", "<p>x</p>", context=ctx).read_text()
    index = write_index(tmp_path, [ReportLink("P", "p.html", "s")], context=ctx).read_text()
    for text in (page, index):
        assert f"medmine {medmine.__version__}" in text
        assert ctx.generated_text in text
        assert "test.duckdb" in text and report.load_id in text
        assert str(tmp_path) not in text
        assert 'src="assets/medmine-tables.js"' in text
    assert (tmp_path / "assets" / "medmine-tables.js").stat().st_size > 2000


def test_a_page_without_context_says_the_warehouse_was_not_recorded(tmp_path):
    text = render_page(tmp_path / "p.html", "P", "").read_text()
    assert NOT_RECORDED in text and "no loads recorded" in text


def test_many_loads_are_folded(tmp_path):
    ctx = PageContext("1.0", dt.datetime(2025, 1, 2, tzinfo=dt.UTC), "w.duckdb", tuple("abcde"))
    text = render_page(tmp_path / "p.html", "P", "", context=ctx).read_text()
    assert "5 loads" in text and "and 3 more" in text and "2025-01-02 00:00:00 UTC" in text
