"""HTML pages: one Jinja2 base template, one local plotly.js and one local table script.

No CDN is reachable from hospital networks (or from this build machine), so every page links
``assets/plotly.min.js`` and ``assets/medmine-tables.js`` (sortable, filterable tables with
search and CSV download), written once per reports folder. Every page and the index show
where they came from: a `PageContext` (medmine version, generation time, warehouse file name
and load ids), built by `page_context(wh)` and passed by every caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from medmine.report.context import PageContext, page_context, resolve
from medmine.report.figures import figure_html
from medmine.report.tables import html_table, table_html

__all__ = [
    "PLOTLY_ASSET",
    "TABLES_ASSET",
    "PageContext",
    "ReportLink",
    "Section",
    "ensure_assets",
    "figure_html",
    "html_table",
    "kpi",
    "page_context",
    "render_page",
    "render_study_body",
    "table_html",
    "write_index",
]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("medmine.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

PLOTLY_ASSET = "assets/plotly.min.js"
#: The vendored table script (sorting, filters, search, CSV), copied beside plotly.js.
TABLES_ASSET = "assets/medmine-tables.js"


@dataclass(frozen=True)
class ReportLink:
    """An entry of the report index: a page, its title and a one-line summary."""

    title: str
    href: str
    summary: str
    status: str = "ok"  # ok | warn | fail


def ensure_assets(reports_dir: str | Path) -> Path:
    """Write plotly.js and the table script once into ``reports_dir/assets``.

    Returns the path of plotly.js. The table script is rewritten when it differs from the
    packaged one, so a newer medmine never leaves an old script beside new pages.
    """
    from plotly.offline import get_plotlyjs

    target = Path(reports_dir) / PLOTLY_ASSET
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(get_plotlyjs(), encoding="utf-8")
    script = resources.files("medmine.report").joinpath(TABLES_ASSET).read_text("utf-8")
    tables = Path(reports_dir) / TABLES_ASSET
    if not tables.exists() or tables.read_text(encoding="utf-8") != script:
        tables.write_text(script, encoding="utf-8")
    return target


def render_page(
    path: str | Path,
    title: str,
    body: str,
    *,
    subtitle: str = "",
    back: str = "index.html",
    context: PageContext | None = None,
) -> Path:
    """Write a full HTML page with the shared layout; `body` is trusted HTML built here.

    `context` (from `page_context`) names the medmine version, the generation time and the
    warehouse with its load ids in the page header; without it the page says the warehouse
    was not recorded.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ensure_assets(out.parent)
    page = _ENV.get_template("page.html.j2").render(
        title=title,
        subtitle=subtitle,
        body=body,
        back=back,
        plotly=PLOTLY_ASSET,
        tables=TABLES_ASSET,
        ctx=resolve(context),
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
    reproduce: Sequence[Any] = (),
) -> str:
    """The body of a study page from the shared template (every value escaped there).

    `reproduce` holds one `medmine.report.reproduce.Reproduction` per result on the page:
    the command and the configuration that produced it.
    """
    return _ENV.get_template("study.html.j2").render(
        data_source=data_source,
        intro=intro,
        notes=list(notes),
        kpis=[(label, kpi(v)) for label, v in kpis],
        kpi_heading=kpi_heading,
        sections=list(sections),
        downloads=downloads,
        reproduce=list(reproduce),
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


def write_index(
    reports_dir: str | Path,
    links: Sequence[ReportLink],
    intro: str = "",
    *,
    context: PageContext | None = None,
) -> Path:
    """Write ``reports_dir/index.html`` linking every page produced by a run.

    `intro` is trusted HTML; `context` names version, time and warehouse as on every page.
    """
    out = Path(reports_dir) / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    ensure_assets(out.parent)
    page = _ENV.get_template("index.html.j2").render(
        links=links, intro=intro, ctx=resolve(context), tables=TABLES_ASSET
    )
    out.write_text(page, encoding="utf-8")
    return out
