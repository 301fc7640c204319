"""Page of the claims fraud study: one section per claims set, with peer figures and worklists.

Amounts are in US dollars as billed: medmine's claims contract is US billing (CPT/HCPCS
procedures, NPI providers), and no currency conversion is made.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from medmine.report.html import Section, figure_html, kpi, table_html
from medmine.studies.claims_fraud import EDIT_WEIGHTS, SCHEME_WEIGHTS, SCHEME_WORDS, FraudResult

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


#: Rows of each worklist shown on the page (the whole lists are in the downloads).
TOP = 50
#: Providers whose flagged claims are listed under the tables (linked from the lists).
LINKED = 10


def _provider_claims(result: FraudResult, key: str, label: str, anchor: str) -> list[str]:
    """Links from the top providers to their flagged claims, and those claims."""
    ranked = result.clinicians_ranked if key == "clinician_id" else result.organisations_ranked
    claims = result.claims_ranked
    top = ranked[ranked["score"] > 0].head(LINKED)
    if top.empty or claims is None:
        return []
    links, blocks = [], []
    for i, eid in enumerate(top[key], start=1):
        mine = claims[(claims[key] == eid) & (claims["schemes"] != "")]
        if key == "clinician_id":  # a referrer's kickback claims are billed under others
            mine = claims[
                ((claims[key] == eid) | (claims["referrer_id"] == eid)) & (claims["schemes"] != "")
            ]
        a = f"{anchor}-{i}"
        links.append(f"<a href='#{a}'>{html.escape(str(eid))}</a> ({len(mine)})")
        blocks.append(
            f"<details id='{a}'><summary>Flagged claims of {label} {html.escape(str(eid))} "
            f"({len(mine)})</summary>"
            + table_html(
                mine.head(TOP).to_dict("records"),
                columns=["rank", "claim_id", "code", "amount", "score", "schemes", "reasons"],
                units={"amount": CURRENCY},
                name=f"{anchor}_{i}_claims",
            )
            + "</details>"
        )
    return [f"<p>Flagged claims of the top {label}s: " + " · ".join(links) + "</p>", *blocks]


def _worklists(result: FraudResult) -> list[str]:
    if result.claims_ranked is None:
        return []
    claims = result.claims_ranked
    flagged = claims[claims["schemes"] != ""]  # a finding of its own, not context alone
    parts = [
        "<h3>Worklists</h3>",
        "<p>Ranked with reasons in plain words and the source ids of the claims behind each "
        "reason (FHIR Claim ids, claims-file claim ids, NPIs, organisation ids). Claim score = "
        "sum over its schemes of weight × strength (5 = billed after death; 0 = nothing found) "
        "plus up to 0.5 for a suspicious clinician or organisation. Clinician and organisation "
        "score = suspicious claims above what the overall rate predicts, in standard "
        "deviations, plus 5 × the strength of a referral concentration. Type in the boxes "
        "under the headers to filter by scheme or provider; the whole lists are in the "
        "downloads (claims_ranked, clinicians_ranked, organisations_ranked, CSV and "
        "Parquet).</p>",
    ]
    counts = (
        result.scheme_hits.groupby("scheme")["claim_id"].nunique().rename("claims").reset_index()
        if result.scheme_hits is not None and len(result.scheme_hits)
        else None
    )
    if counts is not None:
        counts["what it means"] = counts["scheme"].map(SCHEME_WORDS).fillna("shipped claim edit")
        counts["weight"] = counts["scheme"].map(SCHEME_WEIGHTS)
        parts += [
            "<h4>Findings per scheme</h4>",
            table_html(counts.to_dict("records"), name="schemes"),
        ]
    parts += [
        f"<h4>Organisations (billing) — top {TOP}</h4>",
        table_html(
            result.organisations_ranked.head(TOP).to_dict("records"),
            name="organisations_top",
            filters=True,
        ),
        *_provider_claims(result, "organisation_id", "organisation", "org"),
        f"<h4>Clinicians (rendering and referring NPI) — top {TOP}</h4>",
        table_html(
            result.clinicians_ranked.head(TOP).to_dict("records"),
            name="clinicians_top",
            filters=True,
        ),
        *_provider_claims(result, "clinician_id", "clinician", "clin"),
        f"<h4>Claims — top {TOP} of {len(flagged):,} with a finding</h4>",
        table_html(
            flagged.head(TOP).to_dict("records"),
            units={"amount": CURRENCY},
            name="claims_top",
            filters=True,
        ),
    ]
    return parts


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
    parts += _worklists(result)
    parts += [
        "<details><summary>Provider profiles against specialty peers (figures)</summary>",
        *(figure_html(f) for f in _peer_figures(result)),
        "</details>",
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
        "intro": "Scheme detectors (billing after death, exact and near duplicates, claims "
        "with no encounter, upcharging against the code's robust peer distribution, codes "
        "inconsistent with the encounter, unbundling from mined code pairs or a CMS NCCI "
        "table, excessive units from the data or a CMS MUE table, impossible daily volumes, "
        "referral concentration) rank claims, clinicians and billing organisations; claim "
        "edits (SQL) with shipped NCCI-style pair, MUE-style unit and sex/age "
        "tables; provider profiles scored against specialty peers by robust z, ECOD and "
        "Isolation Forest; procedures billed without a diagnosis that significantly predicts "
        "them (FP-Growth rules with Fisher/BH). Evidence is source claim ids only. Amounts "
        f"are in {CURRENCY} as billed (US billing codes; no conversion).",
        "sections": [Section(title, _section(r)) for title, r in sections],
        "subtitle": " | ".join(f"{t}: {r.summary()}" for t, r in sections),
    }
