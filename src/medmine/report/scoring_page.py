"""Page of one scored person: risk, verified model, top SHAP contributions, the CLI command."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from medmine.report.context import PageContext
from medmine.report.html import ReportLink, render_page, table_html
from medmine.report.labs import covariate_unit


def write_score_page(
    path: str | Path,
    score: Any,
    model_label: str,
    command: str,
    *,
    title: str,
    context: PageContext | None = None,
    units: dict[int, str] | None = None,
) -> ReportLink:
    """Write the page of a `medmine.studies.scoring.PersonScore`; returns the index link.

    `context` is the page's identity (`medmine.report.page_context(wh)` of the scored
    warehouse). `units` (from `medmine.report.labs.lab_units(wh)`) gives lab values their
    unit in the contributions table.
    """
    s = score
    contributions = s.explanation.round(4)
    contributions.insert(
        contributions.columns.get_loc("value") + 1,
        "unit",
        [covariate_unit(f, units or {}) for f in contributions["feature"]],
    )
    body = (
        f"<p>Model <code>{html.escape(model_label)}</code> "
        f"(SHA-256 <code>{html.escape(s.model_sha256[:16])}…</code>, verified before loading; "
        f"model card <a href='{html.escape(s.model_card_ref)}'>"
        f"{html.escape(s.model_card_ref)}</a>).</p>"
        f"<div class='card'><span class='kpi'><b>{s.risk:.3f}</b>30-day readmission risk"
        f"</span><span class='kpi'><b>{html.escape(str(s.index_date))}</b>index date "
        "(discharge)</span></div>"
        + _warnings_html(getattr(s, "warnings", []), getattr(s, "notes", []))
        + "<h2>Top contributions (SHAP, log-odds)</h2>"
        + table_html(contributions.to_dict("records"), name="contributions")
        + f"<p>Command line: <code>{html.escape(command)}</code></p>"
    )
    page = render_page(path, "Scoring one person", body, context=context)
    return ReportLink(
        title,
        page.name,
        f"person {s.person_id}: risk {s.risk:.3f}; top factor {s.explanation.feature.iloc[0]}",
    )


def _warnings_html(warnings: list[str], notes: list[str]) -> str:
    """Out-of-domain warnings (highlighted) and notes (how the index date was chosen...)."""
    out = ""
    if warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
        out += (
            "<div class='card warning'><b>⚠ This person is outside the model's training "
            f"domain:</b><ul>{items}</ul></div>"
        )
    if notes:
        out += "".join(f"<p class='note'>{html.escape(n)}</p>" for n in notes)
    return out
