"""Page of the comorbidity rules study: search sizes, rules by lift, outcome and claim rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from medmine.report.html import Section, figure_html, table_html
from medmine.studies.comorbidity_rules import RulesResult

_COLS = ["if", "then", "support", "confidence", "lift", "leverage", "conviction", "q_value"]


def rule_rows(df: pd.DataFrame, n: int = 25) -> list[dict[str, Any]]:
    """The first `n` rules as display rows (long item lists shortened, q in e-notation)."""
    if df.empty:
        return []
    out = df.head(n)[_COLS].copy()
    out["conviction"] = out["conviction"].map(lambda v: "inf" if not np.isfinite(v) else v)
    out["q_value"] = out["q_value"].map(lambda v: f"{v:.1e}")
    for c in ("if", "then"):
        out[c] = out[c].map(lambda s: s if len(s) <= 90 else s[:87] + "...")
    return out.to_dict("records")


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
            Section("Strongest rules (by lift)", table_html(rule_rows(result.rules))),
            Section(
                f"Rules concluding the outcome ({', '.join(cfg.outcome)})",
                table_html(rule_rows(result.outcome_rules, 15)),
            ),
            Section(
                "Claims: diagnosis → procedure rules",
                table_html(rule_rows(result.claim_rules, 20)),
                text=f"{result.claim_transactions:,} claims, {result.claim_itemsets:,} itemsets, "
                f"{result.claim_tested:,} rules tested.",
            ),
        ],
        "subtitle": result.summary(),
    }
