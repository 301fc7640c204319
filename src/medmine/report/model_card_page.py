"""HTML of a model card: one titled block per section, every value escaped."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from medmine.evaluate.model_card import REQUIRED_SECTIONS, ModelCard, plain
from medmine.report.context import PageContext
from medmine.report.html import render_page, table_html


def card_html(card: ModelCard) -> str:
    """HTML fragment: one titled block per section (values escaped)."""
    parts = []
    for name in REQUIRED_SECTIONS:
        parts.append(f"<h3>{html.escape(name.replace('_', ' ').capitalize())}</h3>")
        parts.append(_html_value(plain(getattr(card, name))))
    return "".join(parts)


def write_card_page(
    card: ModelCard,
    path: str | Path,
    title: str = "Model card",
    *,
    context: PageContext | None = None,
) -> Path:
    """Write a full HTML page of the card (`context`: the page's identity)."""
    return render_page(
        path,
        title,
        card_html(card),
        subtitle="TRIPOD+AI-oriented model card",
        context=context,
    )


def _html_value(value: Any, depth: int = 0) -> str:
    if isinstance(value, dict):
        if not value:
            return "<p class='muted'>not reported</p>"
        rows = []
        nested = []
        for k, v in value.items():
            if isinstance(v, dict | list) and v and depth < 2:
                nested.append(f"<h4>{html.escape(str(k))}</h4>{_html_value(v, depth + 1)}")
            else:
                rows.append({"item": k, "value": _short(v)})
        return (table_html(rows) if rows else "") + "".join(nested)
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return table_html([{k: _short(v) for k, v in r.items()} for r in value])
        return "<ul>" + "".join(f"<li>{html.escape(_short(v))}</li>" for v in value) + "</ul>"
    return f"<p>{html.escape(_short(value))}</p>"


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict | list):
        s = json.dumps(v, default=str)
        return s if len(s) < 300 else s[:297] + "..."
    return "" if v is None else str(v)
