"""The clinical NLP page: what the notes say (most frequent affirmed and negated concepts,
modifier shares, mentions by domain) and how note mentions agree with coded conditions.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from medmine.nlp.summary import NlpSummary
from medmine.report.context import PageContext
from medmine.report.html import ReportLink, render_page, table_html

__all__ = ["nlp_warnings", "write_nlp_page"]

_E = html.escape


def nlp_warnings(s: NlpSummary, *, templated: bool = False) -> list[str]:
    """Reasons to doubt the page's figures."""
    out = []
    if s.notes == 0:
        out.append("The warehouse holds no notes: nothing to extract.")
    elif s.mentions == 0:
        out.append("No concept was found in any note: is the terminology empty?")
    if 0 < s.notes < 100:
        out.append(f"Only {s.notes} notes: shares and rankings are unstable.")
    if len(s.systems) > 1:
        out.append(
            f"note_nlp mixes {len(s.systems)} pipeline versions; re-run `medmine notes nlp`."
        )
    agree = s.agreement.get("mentioned also coded")
    if agree is not None and agree > 0.95:
        out.append(
            f"{agree:.0%} of condition mentions are also coded: implausibly high for real notes. "
            "Notes generated from the coded record (as Synthea's are) agree by construction; "
            "this is no evidence of extraction accuracy (see docs/nlp.md for the independent "
            "evaluation)."
        )
    if templated:
        out.append(
            "These notes are templated text generated from the structured record, not clinician "
            "prose: negation and context figures here say little about real notes."
        )
    return out


def write_nlp_page(
    s: NlpSummary,
    out_dir: str | Path,
    *,
    context: PageContext | None = None,
    templated: bool = False,
    evaluation: dict[str, Any] | None = None,
) -> ReportLink:
    """Write ``nlp.html`` into ``out_dir`` and return its index link."""
    warns = nlp_warnings(s, templated=templated)
    parts = []
    if warns:
        parts.append(
            '<div class="warn"><ul>' + "".join(f"<li>{_E(w)}</li>" for w in warns) + "</ul></div>"
        )
    parts.append(
        f"<p>{s.notes_processed:,} of {s.notes:,} notes processed by "
        f"<code>{_E(', '.join(s.systems) or 'none')}</code>: {s.mentions:,} concept mentions "
        f"for {s.persons:,} persons, one row each in <code>note_nlp</code>.</p>"
    )
    shares = [{"modifier": k, "share of mentions": v} for k, v in s.modifier_shares.items()]
    parts.append("<h2>Modifier shares</h2>" + table_html(shares, name="modifiers"))
    parts.append("<h2>Mentions by domain</h2>" + table_html(s.by_domain, name="domains"))
    parts.append(
        "<h2>Most frequent affirmed concepts</h2>"
        "<p>Affirmed: about the patient, not negated, not hypothetical.</p>"
        + table_html(s.top_affirmed, name="affirmed", filters=True)
    )
    parts.append(
        "<h2>Most frequent negated concepts</h2>"
        + table_html(s.top_negated, name="negated", filters=True)
    )
    ag = [{"figure": k, "value": v} for k, v in s.agreement.items()]
    parts.append(
        "<h2>Notes and coded conditions, per person</h2><p>A person-condition is coded when "
        "<code>condition_occurrence</code> holds it, mentioned when an affirmed Condition mention "
        "in the person's notes names the same code.</p>" + table_html(ag, name="agreement")
    )
    if evaluation:
        rows = [{"score": k, "value": v} for k, v in evaluation.items()]
        parts.append(
            "<h2>Accuracy on the independent evaluation set</h2>"
            "<p>Scored by <code>bench/nlp_eval.py</code> (docs/nlp.md).</p>"
            + table_html(rows, name="evaluation")
        )
    out = Path(out_dir)
    render_page(
        out / "nlp.html",
        "Clinical NLP",
        "".join(parts),
        subtitle="concepts in notes with ConText",
        context=context,
    )
    summary = (
        f"{s.mentions:,} mentions in {s.notes_processed:,} notes; "
        f"{s.modifier_shares.get('negated', 0):.0%} negated"
    )
    return ReportLink("Clinical NLP (notes)", "nlp.html", summary, "warn" if warns else "ok")
