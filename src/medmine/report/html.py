"""HTML pages: one Jinja2 base template, Plotly figures sharing one local copy of plotly.js.

No CDN is reachable from hospital networks (or from this build machine), so every page links
``assets/plotly.min.js`` written once per reports folder.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("medmine.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

PLOTLY_ASSET = "assets/plotly.min.js"


@dataclass(frozen=True)
class ReportLink:
    """An entry of the report index: a page, its title and a one-line summary."""

    title: str
    href: str
    summary: str
    status: str = "ok"  # ok | warn | fail


def ensure_assets(reports_dir: str | Path) -> Path:
    """Write the shared plotly.js once into ``reports_dir/assets`` and return its path."""
    from plotly.offline import get_plotlyjs

    target = Path(reports_dir) / PLOTLY_ASSET
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(get_plotlyjs(), encoding="utf-8")
    return target


def figure_html(fig: Any) -> str:
    """Render a Plotly figure as an HTML fragment (the page loads plotly.js once)."""
    return fig.to_html(full_html=False, include_plotlyjs=False)


def table_html(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Render rows as an escaped HTML table (small tables only; values are escaped)."""
    if not rows:
        return "<p class='muted'>No rows.</p>"
    cols = list(columns or rows[0].keys())
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def render_page(
    path: str | Path, title: str, body: str, *, subtitle: str = "", back: str = "index.html"
) -> Path:
    """Write a full HTML page with the shared layout; `body` is trusted HTML built here."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ensure_assets(out.parent)
    page = _ENV.get_template("page.html.j2").render(
        title=title, subtitle=subtitle, body=body, back=back, plotly=PLOTLY_ASSET
    )
    out.write_text(page, encoding="utf-8")
    return out


@dataclass(frozen=True)
class Section:
    """One block of a page: heading (level 2 or 3), optional plain text, trusted HTML.

    `html` is built in `medmine.report` from escaped tables and Plotly figures; `text` and
    `heading` are escaped by the template. ``details=True`` folds the block.
    """

    heading: str = ""
    html: str = ""
    text: str = ""
    level: int = 2
    details: bool = False


def render_study_body(
    *,
    data_source: str = "",
    intro: str = "",
    notes: Sequence[str] = (),
    kpis: Sequence[tuple[str, Any]] = (),
    kpi_heading: str = "",
    sections: Sequence[Section] = (),
    downloads: dict[str, Any] | None = None,
) -> str:
    """The body of a study page from the shared template (every value escaped there)."""
    return _ENV.get_template("study.html.j2").render(
        data_source=data_source,
        intro=intro,
        notes=list(notes),
        kpis=[(label, kpi(v)) for label, v in kpis],
        kpi_heading=kpi_heading,
        sections=list(sections),
        downloads=downloads,
    )


def kpi(v: Any) -> str:
    """A headline figure as text: floats to 3 decimals, integers with separators."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def write_index(reports_dir: str | Path, links: Sequence[ReportLink], intro: str = "") -> Path:
    """Write ``reports_dir/index.html`` linking every page produced by a run."""
    out = Path(reports_dir) / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    page = _ENV.get_template("index.html.j2").render(links=links, intro=intro)
    out.write_text(page, encoding="utf-8")
    return out
