from __future__ import annotations

import plotly.graph_objects as go

from medmine.report import ReportLink, figure_html, render_page, table_html, write_index


def test_pages_share_one_local_plotly_copy(tmp_path):
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    a = render_page(tmp_path / "a.html", "A", figure_html(fig))
    b = render_page(tmp_path / "b.html", "B", "<p>b</p>")
    asset = tmp_path / "assets" / "plotly.min.js"
    assert asset.stat().st_size > 1_000_000
    for page in (a, b):
        text = page.read_text()
        assert 'src="assets/plotly.min.js"' in text
        assert "cdn.plot.ly" not in text and len(text) < 200_000


def test_table_values_are_escaped_and_formatted():
    html = table_html([{"name": "<script>x</script>", "n": 12345, "p": 0.123456}])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "12,345" in html and "0.1235" in html
    assert "No rows" in table_html([])


def test_index_links_every_page_with_status(tmp_path):
    links = [
        ReportLink("Loads", "loads.html", "2 loads", "ok"),
        ReportLink("Q", "q.html", "x", "fail"),
    ]
    text = write_index(tmp_path, links, intro="hello").read_text()
    assert 'href="loads.html"' in text and 'href="q.html"' in text
    assert 'class="fail"' in text and "hello" in text
