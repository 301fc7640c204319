"""HTML reports: shared page layout, Plotly figures, sortable tables and the report index.

Every page names where it came from: pass `page_context(wh)` to the page writers.
"""

from medmine.report.context import PageContext, page_context
from medmine.report.html import (
    ReportLink,
    ensure_assets,
    figure_html,
    render_page,
    table_html,
    write_index,
)

__all__ = [
    "PageContext",
    "ReportLink",
    "ensure_assets",
    "figure_html",
    "page_context",
    "render_page",
    "table_html",
    "write_index",
]
