"""HTML reports: shared page layout, Plotly figures and the report index."""

from medmine.report.html import (
    ReportLink,
    ensure_assets,
    figure_html,
    render_page,
    table_html,
    write_index,
)

__all__ = ["ReportLink", "ensure_assets", "figure_html", "render_page", "table_html", "write_index"]
