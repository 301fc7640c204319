"""HTML page of the claims fraud study: peer-group figures, tables and the index summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medmine.studies._claims_edits import EDIT_WEIGHTS

if TYPE_CHECKING:
    from medmine.studies.claims_fraud import FraudResult


def summary(result: FraudResult) -> str:
    """One line for the report index."""
    n_flag = int(result.providers["flagged"].sum())
    return (
        f"{result.n_claims:,} claims, {len(result.edits):,} edit hits on "
        f"{result.edits['claim_id'].nunique():,} claims, {n_flag} of {len(result.providers)} "
        "providers flagged against specialty peers"
    )


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
        height=380,
        title="Referral concentration: share of a provider's referred patients seen next by "
        "one provider",
    )
    figs.append(fig)
    return figs


def _section(title: str, result: FraudResult) -> str:
    from medmine.report import figure_html, table_html

    edit_counts = (
        result.edits.groupby("edit")
        .agg(lines=("claim_line_id", "nunique"), claims=("claim_id", "nunique"))
        .reset_index()
    )
    edit_counts["weight"] = edit_counts["edit"].map(EDIT_WEIGHTS)
    parts = [
        f"<h2>{title}</h2>",
        f"<div class='card'><span class='kpi'><b>{result.n_claims:,}</b>claims</span>"
        f"<span class='kpi'><b>{result.n_lines:,}</b>lines</span>"
        f"<span class='kpi'><b>{len(result.providers):,}</b>providers</span>"
        f"<span class='kpi'><b>{result.providers['specialty'].nunique()}</b>peer groups</span>"
        f"<span class='kpi'><b>{result.edits['claim_id'].nunique():,}</b>claims with edits"
        f"</span><span class='kpi'><b>{int(result.providers['flagged'].sum())}</b>"
        "providers flagged</span></div>",
        "<h3>Claim edits</h3>",
        table_html(edit_counts.to_dict("records")),
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
            table_html(main.to_dict("records")),
            "<details><summary>Per detector (provider level)</summary>",
            table_html(ev[ev["level"] == "provider"].to_dict("records")),
            "</details>",
        ]
    parts += [figure_html(f) for f in _peer_figures(result)]
    parts += [
        "<h3>Investigation list: providers</h3>",
        table_html(result.investigate_providers.to_dict("records")),
        "<h3>Investigation list: claims</h3>",
        table_html(result.investigate_claims.head(30).to_dict("records")),
    ]
    if not result.rules.empty:
        rules = result.rules.head(20)[["if", "then", "support", "confidence", "lift", "q_value"]]
        parts += [
            "<details><summary>Diagnosis → procedure rules used for violations</summary>",
            table_html(rules.to_dict("records")),
            "</details>",
        ]
    return "".join(parts)


def write_page(sections: list[tuple[str, FraudResult]], path: str | Path) -> Path:
    """Write ``study_claims_fraud.html`` with one section per (title, result)."""
    from medmine.report import render_page

    body = (
        "<p>Claim edits (SQL) with shipped NCCI-style pair, MUE-style unit and sex/age tables; "
        "provider profiles scored against specialty peers by robust z, ECOD and Isolation "
        "Forest; procedures billed without a diagnosis that significantly predicts them "
        "(FP-Growth rules with Fisher/BH). Evidence is claim and line ids only.</p>"
        + "".join(_section(t, r) for t, r in sections)
    )
    sub = " | ".join(f"{t}: {summary(r)}" for t, r in sections)
    return render_page(path, "Claims fraud", body, subtitle=sub)
