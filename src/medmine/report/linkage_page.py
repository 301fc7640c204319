"""The patient-linkage page: counts, the model's precision/recall curve, match weights and
example pairs shown as comparison levels (no names, dates or ids of any person).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from medmine.quality.linkage import LinkageResult
from medmine.report.context import PageContext
from medmine.report.html import figure_html, render_page, table_html

__all__ = ["linkage_warnings", "write_linkage_page"]

_E = html.escape


def linkage_warnings(res: LinkageResult) -> list[str]:
    """Reasons to doubt the run's figures (shown on the page and printed by the command)."""
    out = []
    if res.n_records and res.n_links == 0:
        out.append("No pair was linked: check the column mapping (are names and dates mapped?).")
    best = max(res.curve, key=lambda r: r["f1"]) if res.curve else None
    if best and best["precision"] > 0.999 and best["recall"] > 0.999:
        out.append(
            "The model expects near-perfect precision and recall. Its probabilities assume "
            "that fields err independently; on data where they do not (households sharing "
            "address and phone), expect more false links than the curve shows. Check the "
            "example pairs near the threshold, or measure on labelled pairs."
        )
    if res.n_records >= 100 and res.n_pairs_scored < res.n_records * 0.01:
        out.append("Very few candidate pairs were scored: few duplicates, or fields too sparse.")
    if res.prior is not None and res.n_records and res.prior * res.n_records > 5:
        out.append(
            f"The estimated prior ({res.prior:.2g}) implies more than five matches per record: "
            "implausible; check that records are not repeated wholesale."
        )
    return out


def _curve_figure(res: LinkageResult) -> str:
    import plotly.graph_objects as go

    th = [r["threshold"] for r in res.curve]
    fig = go.Figure()
    for key in ("precision", "recall", "f1"):
        fig.add_trace(go.Scatter(x=th, y=[r[key] for r in res.curve], mode="lines+markers",
                                 name=key))  # fmt: skip
    fig.add_vline(x=res.threshold, line_dash="dash", annotation_text="chosen threshold")
    fig.update_layout(
        title="Precision and recall the model expects, by match-probability threshold",
        xaxis_title="match probability threshold",
        yaxis_title="expected value",
        height=420,
    )
    return figure_html(fig)


def write_linkage_page(
    path: str | Path,
    res: LinkageResult,
    *,
    context: PageContext | None = None,
    evaluation: dict[str, Any] | None = None,
) -> Path:
    """Write the linkage page for `res`; `evaluation` adds measured metrics (labelled data)."""
    warn = linkage_warnings(res)
    parts = [
        "<div class='card'>"
        + "".join(
            f"<span class='kpi'><b>{_E(str(v))}</b>{_E(k)}</span>"
            for k, v in (
                ("records", f"{res.n_records:,}"),
                ("candidate pairs scored", f"{res.n_blocked_pairs:,}"),
                ("pairs kept", f"{res.n_pairs_scored:,}"),
                ("links", f"{res.n_links:,}"),
                ("clusters", f"{res.n_clusters:,}"),
                ("threshold (probability)", f"{res.threshold:.3f}"),
                ("estimated prior", f"{res.prior:.3g}" if res.prior is not None else "-"),
                ("seconds", f"{res.duration_s:.1f}"),
            )
        )
        + "</div>"
    ]
    if warn:
        parts.append(
            "<div class='card warn'><b>Read with care</b><ul>"
            + "".join(f"<li>{_E(w)}</li>" for w in warn)
            + "</ul></div>"
        )
    parts.append(
        f"<p>Mode <b>{_E(res.mode)}</b>. Fields compared: {_E(', '.join(res.fields_compared))}. "
        "The threshold is the one that maximises the F1 the model itself expects from its "
        "pair probabilities; every scored pair is kept with its weight and probability "
        "(<code>mm_person_link_pair</code> or <code>pairs.csv</code>) so that another "
        "threshold needs no retraining.</p>"
    )
    if evaluation:
        parts.append("<h2>Measured against known matches</h2>")
        parts.append(table_html([evaluation], name="linkage_evaluation"))
    if res.curve:
        parts.append("<h2>Precision / recall curve</h2>" + _curve_figure(res))
        parts.append(table_html(res.curve, name="linkage_curve"))
    if res.examples:
        parts.append(
            "<h2>Example pairs</h2><p class='muted'>Each pair is shown by how its fields "
            "compare (level and partial match weight), never by its values.</p>"
        )
        parts.append(table_html(res.examples, name="linkage_examples"))
    if res.match_weights:
        parts.append("<h2>Match weights</h2>")
        parts.append(table_html(res.match_weights, name="linkage_match_weights"))
    if res.blocking_rules:
        parts.append(
            "<details><summary>Blocking rules (a pair is scored when any holds)</summary><ul>"
            + "".join(f"<li><code>{_E(r)}</code></li>" for r in res.blocking_rules)
            + "</ul></details>"
        )
    return render_page(
        path, "Patient linkage", "".join(parts), subtitle=res.run_id, context=context
    )
