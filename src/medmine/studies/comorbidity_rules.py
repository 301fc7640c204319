"""Study `comorbidity_rules`: association rules between conditions, drugs and procedures.

Transactions are built in the engine (per person or per visit for OMOP data, per claim for
``mm_claim``: diagnoses and procedures). Rules come from FP-Growth itemsets, carry support,
confidence, lift, leverage and conviction, and survive only if their one-sided Fisher exact
test passes Benjamini–Hochberg at ``alpha``. Two constrained runs focus on an outcome of
interest (rules concluding it) and on diagnosis -> procedure rules in claims (used by the
claims fraud study to spot procedures billed without their usual indication).

>>> from medmine.warehouse import Warehouse
>>> result = run(Warehouse(":memory:"))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medmine.mining.rules import (
    AssociationRuleMiner,
    Transactions,
    claim_transactions,
    clinical_transactions,
)


@dataclass(frozen=True)
class RulesConfig:
    """Settings of the comorbidity rules study."""

    by: str = "person"
    domains: tuple[str, ...] = ("condition", "drug")
    min_support: float = 0.05
    min_confidence: float = 0.6
    min_lift: float = 1.2
    max_len: int = 3
    alpha: float = 0.05
    #: Outcome items of interest (rules concluding them); default GI bleed, concept 192671.
    outcome: tuple[str, ...] = ("condition:192671",)
    outcome_min_support: float = 0.005
    outcome_min_confidence: float = 0.2
    claims: bool = True
    claims_min_support: float = 0.002
    claims_min_confidence: float = 0.5
    purpose: str | None = "research"


@dataclass
class RulesResult:
    """Rules found, with the sizes of the search (aggregates only)."""

    config: RulesConfig
    n_transactions: int
    n_items: int
    n_itemsets: int
    n_tested: int
    rules: pd.DataFrame
    outcome_rules: pd.DataFrame
    claim_transactions: int = 0
    claim_itemsets: int = 0
    claim_tested: int = 0
    claim_rules: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_excluded: int = 0


def describe(rules: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """Add readable ``if`` / ``then`` columns (item labels) to a rules frame."""
    out = rules.copy()

    def fmt(items: frozenset) -> str:
        return " + ".join(sorted(labels.get(i, i) for i in items))

    out["if"] = out["antecedents"].map(fmt) if len(out) else []
    out["then"] = out["consequents"].map(fmt) if len(out) else []
    return out


def mine(tx: Transactions, **params: Any) -> AssociationRuleMiner:
    """Fit an `AssociationRuleMiner` with `params` on transactions `tx` (item keys as names)."""
    return AssociationRuleMiner(**params).fit(tx.matrix, item_names=tx.items)


def diagnosis_procedure_rules(
    tx: Transactions, min_support: float, min_confidence: float, alpha: float = 0.05
) -> tuple[AssociationRuleMiner, pd.DataFrame]:
    """Rules ``diagnoses -> one procedure`` on per-claim transactions, described."""
    dx = [i for i in tx.items if i.startswith("dx:")]
    proc = [i for i in tx.items if i.startswith("proc:")]
    m = mine(
        tx,
        min_support=min_support,
        min_confidence=min_confidence,
        min_lift=1.0,
        max_len=3,
        antecedents=dx,
        consequents=proc,
        alpha=alpha,
    )
    return m, describe(m.rules_, tx.label_of())


def run(wh: Any, config: RulesConfig | None = None) -> RulesResult:
    """Run the study on warehouse `wh`."""
    cfg = config or RulesConfig()
    person_sql, excluded = None, 0
    if cfg.purpose:
        from medmine.privacy.consent import eligible_persons

        f = eligible_persons(wh, cfg.purpose)
        person_sql, excluded = f.person_ids_sql, f.excluded
    tx = clinical_transactions(wh, by=cfg.by, domains=cfg.domains, person_ids_sql=person_sql)
    labels = tx.label_of()
    common = dict(max_len=cfg.max_len, alpha=cfg.alpha)
    if tx.n:
        main = mine(
            tx,
            min_support=cfg.min_support,
            min_confidence=cfg.min_confidence,
            min_lift=cfg.min_lift,
            **common,
        )
        wanted = [o for o in cfg.outcome if o in set(tx.items)]
        outcome = (
            mine(
                tx,
                min_support=cfg.outcome_min_support,
                min_confidence=cfg.outcome_min_confidence,
                min_lift=cfg.min_lift,
                consequents=wanted,
                **common,
            ).rules_
            if wanted
            else pd.DataFrame(columns=main.rules_.columns)
        )
        rules, n_itemsets, n_tested = main.rules_, len(main.itemsets_), main.n_rules_tested_
    else:
        rules = outcome = pd.DataFrame(columns=["antecedents", "consequents"])
        n_itemsets = n_tested = 0
    result = RulesResult(
        config=cfg,
        n_transactions=tx.n,
        n_items=len(tx.items),
        n_itemsets=n_itemsets,
        n_tested=n_tested,
        rules=describe(rules, labels),
        outcome_rules=describe(outcome, labels),
        n_excluded=excluded,
    )
    if cfg.claims and wh.count("mm_claim"):
        ctx = claim_transactions(wh, person_ids_sql=person_sql)
        if ctx.n:
            m, described = diagnosis_procedure_rules(
                ctx, cfg.claims_min_support, cfg.claims_min_confidence, cfg.alpha
            )
            result.claim_transactions = ctx.n
            result.claim_itemsets = len(m.itemsets_)
            result.claim_tested = m.n_rules_tested_
            result.claim_rules = described
    return result


_COLS = ["if", "then", "support", "confidence", "lift", "leverage", "conviction", "q_value"]


def _rows(df: pd.DataFrame, n: int = 25) -> list[dict[str, Any]]:
    if df.empty:
        return []
    out = df.head(n)[_COLS].copy()
    out["conviction"] = out["conviction"].map(lambda v: "inf" if not np.isfinite(v) else v)
    out["q_value"] = out["q_value"].map(lambda v: f"{v:.1e}")
    for c in ("if", "then"):
        out[c] = out[c].map(lambda s: s if len(s) <= 90 else s[:87] + "...")
    return out.to_dict("records")


def summary(result: RulesResult) -> str:
    """One line for the report index."""
    return (
        f"{result.n_transactions:,} {result.config.by} baskets, {len(result.rules):,} rules "
        f"after FDR (of {result.n_tested:,} tested); {len(result.outcome_rules)} outcome "
        f"rules; {len(result.claim_rules)} diagnosis→procedure claim rules"
    )


def write_page(result: RulesResult, path: str | Path) -> Path:
    """Write the study page."""
    import plotly.express as px

    from medmine.report import figure_html, render_page, table_html

    cfg = result.config
    parts = [
        f"<div class='card'><span class='kpi'><b>{result.n_transactions:,}</b>"
        f"{cfg.by} baskets</span><span class='kpi'><b>{result.n_items:,}</b>items</span>"
        f"<span class='kpi'><b>{result.n_itemsets:,}</b>frequent itemsets</span>"
        f"<span class='kpi'><b>{result.n_tested:,}</b>rules tested</span>"
        f"<span class='kpi'><b>{len(result.rules):,}</b>rules kept (BH q ≤ {cfg.alpha})</span>"
        f"<span class='kpi'><b>{result.n_excluded:,}</b>excluded by consent</span></div>",
        f"<p>FP-Growth (medmine's sparse implementation) on {', '.join(cfg.domains)} per "
        f"{cfg.by}; support ≥ {cfg.min_support}, confidence ≥ {cfg.min_confidence}, "
        f"lift ≥ {cfg.min_lift}, at most {cfg.max_len} items, one-item consequents; one-sided "
        "Fisher exact tests with Benjamini–Hochberg control of the false discovery rate.</p>",
    ]
    if not result.rules.empty:
        sample = result.rules.head(3000)
        fig = px.scatter(
            sample,
            x="support",
            y="confidence",
            color="lift",
            hover_data=["if", "then"],
            height=420,
            title="Rules kept: support vs confidence (colour = lift)",
        )
        parts.append(figure_html(fig))
    parts += [
        "<h2>Strongest rules (by lift)</h2>",
        table_html(_rows(result.rules)),
        f"<h2>Rules concluding the outcome ({', '.join(cfg.outcome)})</h2>",
        table_html(_rows(result.outcome_rules, 15)),
        "<h2>Claims: diagnosis → procedure rules</h2>",
        f"<p>{result.claim_transactions:,} claims, {result.claim_itemsets:,} itemsets, "
        f"{result.claim_tested:,} rules tested.</p>",
        table_html(_rows(result.claim_rules, 20)),
    ]
    return render_page(path, "Comorbidity rules", "".join(parts), subtitle=summary(result))


def run_page(wh: Any, out_dir: str | Path, config: Any = None, **_: Any) -> Any:
    """Run the study on `wh`, write ``study_comorbidity_rules.html``; return the index link."""
    from medmine.report import ReportLink

    result = run(wh, config)
    page = write_page(result, Path(out_dir) / "study_comorbidity_rules.html")
    return ReportLink("Comorbidity rules", page.name, summary(result))
