"""Page of the comorbidity rules study: search sizes, every rule kept (sortable, filterable),
outcome and claim rules; items are named by their concept names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from medmine.report.html import Section, figure_html, table_html
from medmine.studies.comorbidity_rules import RulesResult

_COLS = ["if", "then", "support", "confidence", "lift", "leverage", "conviction", "q_value"]


def rule_rows(df: pd.DataFrame, n: int | None = None) -> list[dict[str, Any]]:
    """Rules as display rows (all of them unless `n` is given); q in e-notation.

    Item lists are shown in full: the page's table filters search them.
    """
    if df.empty:
        return []
    out = (df if n is None else df.head(n))[_COLS].copy()
    out["conviction"] = out["conviction"].map(lambda v: "inf" if not np.isfinite(v) else v)
    out["q_value"] = out["q_value"].map(lambda v: f"{v:.1e}")
    return out.to_dict("records")


def _outcome_names(result: RulesResult) -> str:
    """The outcome items by their labels where a rule names them, else as given."""
    labels = set(result.outcome_rules["then"]) if not result.outcome_rules.empty else set()
    return ", ".join(sorted(labels)) if labels else ", ".join(result.config.outcome)


def rules_sections(result: RulesResult) -> dict[str, Any]:
    """Template arguments: KPIs, method, support/confidence plot and the rule tables."""
    import plotly.express as px

    cfg = result.config
    plot = ""
    if not result.rules.empty:
        fig = px.scatter(
            result.rules.head(3000),
            x="support",
            y="confidence",
            color="lift",
            hover_data=["if", "then"],
            height=420,
            title="Rules kept: support vs confidence (colour = lift)",
        )
        plot = figure_html(fig)
    return {
        "kpis": [
            (f"{cfg.by} baskets", result.n_transactions),
            ("items", result.n_items),
            ("frequent itemsets", result.n_itemsets),
            ("rules tested", result.n_tested),
            (f"rules kept (BH q ≤ {cfg.alpha})", len(result.rules)),
            ("excluded by consent", result.n_excluded),
        ],
        "intro": f"FP-Growth (medmine's sparse implementation) on {', '.join(cfg.domains)} per "
        f"{cfg.by}; support ≥ {cfg.min_support}, confidence ≥ {cfg.min_confidence}, lift ≥ "
        f"{cfg.min_lift}, at most {cfg.max_len} items, one-item consequents; one-sided Fisher "
        "exact tests with Benjamini–Hochberg control of the false discovery rate.",
        "sections": [
            Section(html=plot),
            Section(
                f"Strongest rules (by lift): all {len(result.rules):,} rules kept",
                table_html(rule_rows(result.rules), name="rules", filters=True),
                text="Sort by any column; filter each column (text, or >x, <x for numbers).",
            ),
            Section(
                f"Rules concluding the outcome ({_outcome_names(result)})",
                table_html(rule_rows(result.outcome_rules), name="outcome_rules", filters=True),
            ),
            Section(
                "Claims: diagnosis → procedure rules",
                table_html(rule_rows(result.claim_rules), name="claim_rules", filters=True),
                text=f"{result.claim_transactions:,} claims, {result.claim_itemsets:,} itemsets, "
                f"{result.claim_tested:,} rules tested.",
            ),
        ],
        "subtitle": result.summary(),
    }
