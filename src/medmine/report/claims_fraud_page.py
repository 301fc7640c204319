"""Page of the claims fraud study: one section per claims set, with peer figures and worklists.

Amounts are in US dollars as billed: medmine's claims contract is US billing (CPT/HCPCS
procedures, NPI providers), and no currency conversion is made.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from medmine.report.html import Section, figure_html, kpi, table_html
from medmine.studies.claims_fraud import EDIT_WEIGHTS, FraudResult

#: Currency of claim amounts (see the module docstring).
CURRENCY = "USD"
#: Axis titles of provider features (amounts with their currency).
LABELS = {
    "billed_per_patient": f"billed per patient ({CURRENCY})",
    "billed_per_claim": f"billed per claim ({CURRENCY})",
    "claims_per_day": "claims per active day",
    "em_mean": "mean E&M level",
    "referral_top_share": "share of referred patients seen next by one provider",
    "provider_id": "provider id",
    "n_claims": "claims",
    "referred_patients": "referred patients",
}


def _peer_figures(result: FraudResult) -> list[Any]:
    import plotly.express as px
    import plotly.graph_objects as go

    prov = result.providers.copy()
    prov["status"] = np.where(prov["flagged"], "flagged", "peers")
    figs = []
    em = prov[prov["specialty"].isin(prov.loc[prov["em_mean"] > 0, "specialty"].unique())]
    if not result.em_distribution.empty and len(em):
        fig = px.box(
            em,
            x="specialty",
            y="em_mean",
            points="all",
            color="status",
            color_discrete_map={"flagged": "#d62728", "peers": "#7f7f7f"},
            hover_data=["provider_id", "n_claims"],
            labels=LABELS,
            height=420,
            title="Mean E&M level (99211=1 … 99215=5) by specialty: flagged providers vs peers",
        )
        figs.append(fig)
        top = em.sort_values("z_em_kl", ascending=False).head(3)
        d = result.em_distribution
        bars = go.Figure()
        for _, r in top.iterrows():
            peers = prov[(prov.specialty == r.specialty) & (prov.provider_id != r.provider_id)]
            pe = d[d.provider_id.isin(peers.provider_id)].groupby("level")["count"].sum()
            me = d[d.provider_id == r.provider_id].groupby("level")["count"].sum()
            bars.add_bar(
                x=[f"{r.specialty} peers L{i}" for i in pe.index],
                y=(pe / pe.sum()).to_numpy(),
                name=f"peers of {int(r.provider_id)}",
            )
            bars.add_bar(
                x=[f"{r.specialty} peers L{i}" for i in me.index],
                y=(me / me.sum()).to_numpy(),
                name=f"provider {int(r.provider_id)}",
            )
        bars.update_layout(
            barmode="group",
            height=380,
            yaxis_title="share of E&M lines",
            title="E&M level mix: most divergent providers vs their peers",
        )
        figs.append(bars)
    fig = px.scatter(
        prov,
        x="claims_per_day",
        y="billed_per_patient",
        color="score",
        symbol="status",
        facet_col="specialty",
        facet_col_wrap=3,
        hover_data=["provider_id"],
        labels=LABELS,
        height=520,
        title="Volume and cost per patient within specialty (colour = anomaly score)",
    )
    figs.append(fig)
    fig = px.strip(
        prov,
        x="specialty",
        y="referral_top_share",
        color="status",
        color_discrete_map={"flagged": "#d62728", "peers": "#7f7f7f"},
        hover_data=["provider_id", "referred_patients"],
        labels=LABELS,
        height=380,
        title="Referral concentration: share of a provider's referred patients seen next by "
        "one provider",
    )
    figs.append(fig)
    return figs


def _card(items: list[tuple[str, Any]]) -> str:
    spans = "".join(
        f"<span class='kpi'><b>{html.escape(kpi(v))}</b>{html.escape(label)}</span>"
        for label, v in items
    )
    return f"<div class='card'>{spans}</div>"


def _section(result: FraudResult) -> str:
    edit_counts = (
        result.edits.groupby("edit")
        .agg(lines=("claim_line_id", "nunique"), claims=("claim_id", "nunique"))
        .reset_index()
    )
    edit_counts["weight"] = edit_counts["edit"].map(EDIT_WEIGHTS)
    parts = [
        _card(
            [
                ("claims", result.n_claims),
                ("lines", result.n_lines),
                ("providers", len(result.providers)),
                ("peer groups", int(result.providers["specialty"].nunique())),
                ("claims with edits", int(result.edits["claim_id"].nunique())),
                ("providers flagged", int(result.providers["flagged"].sum())),
            ]
        ),
        "<h3>Claim edits</h3>",
        table_html(edit_counts.to_dict("records"), name="claim_edits"),
    ]
    if result.evaluation is not None and not result.evaluation.empty:
        ev = result.evaluation
        main = ev[ev["detector"].isin(["ensemble", "edits + provider score"])]
        parts += [
            "<h3>Evaluation against injected schemes</h3>",
            "<p>Precision@k with k = number of positives; recall = share of positives flagged "
            "(providers: top share by ensemble score; claims: an edit of weight ≥ 2 or a "
            "flagged provider); AUROC of the score. Provider negatives: providers with no "
            "scheme; claim negatives: claims no scheme touched. Published anchor: "
            "provider-level models on CMS data with LEIE labels reach AUROC ≈ 0.81.</p>",
            table_html(main.to_dict("records"), name="evaluation"),
            "<details><summary>Per detector (provider level)</summary>",
            table_html(
                ev[ev["level"] == "provider"].to_dict("records"), name="evaluation_detectors"
            ),
            "</details>",
        ]
    parts += [figure_html(f) for f in _peer_figures(result)]
    parts += [
        "<h3>Investigation list: providers</h3>",
        table_html(result.investigate_providers.to_dict("records"), name="investigate_providers"),
        "<h3>Investigation list: claims</h3>",
        table_html(result.investigate_claims.to_dict("records"), name="investigate_claims"),
    ]
    if not result.rules.empty:
        rules = result.rules[["if", "then", "support", "confidence", "lift", "q_value"]]
        parts += [
            "<details><summary>Diagnosis → procedure rules used for violations</summary>",
            table_html(rules.to_dict("records"), name="diagnosis_procedure_rules"),
            "</details>",
        ]
    return "".join(parts)


def fraud_sections(sections: list[tuple[str, FraudResult]]) -> dict[str, Any]:
    """Template arguments: the method paragraph and one section per (title, result)."""
    return {
        "intro": "Claim edits (SQL) with shipped NCCI-style pair, MUE-style unit and sex/age "
        "tables; provider profiles scored against specialty peers by robust z, ECOD and "
        "Isolation Forest; procedures billed without a diagnosis that significantly predicts "
        "them (FP-Growth rules with Fisher/BH). Evidence is claim and line ids only. Amounts "
        f"are in {CURRENCY} as billed (US billing codes; no conversion).",
        "sections": [Section(title, _section(r)) for title, r in sections],
        "subtitle": " | ".join(f"{t}: {r.summary()}" for t, r in sections),
    }
