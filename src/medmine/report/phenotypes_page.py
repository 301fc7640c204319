"""Page of the phenotypes study: choosing k, embeddings, cluster sizes and profiles."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from medmine.report.html import Section, figure_html, table_html
from medmine.studies.phenotypes import PhenotypeResult


def _top(profiles: pd.DataFrame, per_cluster: int = 8) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if profiles.empty:
        return rows
    for c, g in profiles.groupby("cluster", sort=True):
        for r in g.head(per_cluster).itertuples():
            rows.append(
                {
                    "cluster": int(c),
                    "feature": r.label,
                    "in cluster": f"{r.prevalence_in:.0%}",
                    "rest": f"{r.prevalence_out:.0%}",
                    "lift": round(float(r.lift), 2) if np.isfinite(r.lift) else "inf",
                    "q (BH)": f"{r.q_value:.1e}",
                }
            )
    return rows


def phenotype_sections(result: PhenotypeResult) -> dict[str, Any]:
    """Template arguments: KPIs, selection curves, embeddings, sizes and profiles."""
    import plotly.express as px
    import plotly.graph_objects as go

    sel = result.selection
    fig_sel = go.Figure()
    fig_sel.add_scatter(x=sel["k"], y=sel["silhouette"], name="silhouette", mode="lines+markers")
    fig_sel.add_scatter(
        x=sel["k"], y=sel["stability"], name="bootstrap stability (ARI)", mode="lines+markers"
    )
    fig_sel.add_vline(x=result.n_clusters, line_dash="dot")
    fig_sel.update_layout(title="Choosing k", xaxis_title="k", height=340)
    a = result.assignments.copy()
    a["k-means cluster"] = a["kmeans"].astype(str)
    a["HDBSCAN cluster"] = a["hdbscan"].map(lambda v: "noise" if v < 0 else str(v))
    sample = a.sample(min(len(a), 4000), random_state=0)
    fig_km = px.scatter(
        sample,
        x="x",
        y="y",
        color="k-means cluster",
        opacity=0.6,
        height=420,
        title="k-means phenotypes (TruncatedSVD, 2 components)",
    )
    fig_hd = px.scatter(
        sample,
        x="x",
        y="y",
        color="HDBSCAN cluster",
        opacity=0.6,
        height=420,
        title="HDBSCAN clusters on the same embedding",
    )
    sizes = [
        {"cluster": int(c), "persons": int(n), "share": f"{n / len(a):.0%}"}
        for c, n in a["kmeans"].value_counts().sort_index().items()
    ]
    cfg = result.config
    return {
        "kpis": [
            ("persons", result.n_persons),
            ("covariates", len(result.features)),
            ("k-means clusters", result.n_clusters),
            ("HDBSCAN clusters", result.hdbscan_clusters),
            ("ARI k-means vs HDBSCAN", f"{result.agreement_ari:.2f}"),
            ("excluded by consent", result.n_excluded),
        ],
        "sections": [
            Section(
                text="Covariates: any-time-prior indicators of conditions and drug ingredients "
                f"present in {cfg.min_prevalence:.0%}–{cfg.max_prevalence:.0%} of persons, sex, "
                "race, ethnicity and 5-year age groups. k is the best silhouette among k whose "
                f"mean adjusted Rand index over {cfg.n_bootstrap} bootstrap refits is at least "
                f"{cfg.min_stability}.",
                html=figure_html(fig_sel)
                + table_html(sel.round(3).to_dict("records"), name="choosing_k")
                + figure_html(fig_km),
            ),
            Section("Cluster sizes", table_html(sizes, name="cluster_sizes")),
            Section(
                "Over-represented features per k-means cluster",
                table_html(_top(result.profiles), name="kmeans_profiles"),
                text="Prevalence in the cluster vs the rest, lift = ratio, one-sided Fisher "
                "exact test, Benjamini–Hochberg q ≤ "
                f"{cfg.alpha} across all cluster × feature tests.",
            ),
            Section(
                "HDBSCAN",
                figure_html(fig_hd)
                + table_html(_top(result.hdbscan_profiles, 5), name="hdbscan_profiles"),
                text=f"{result.hdbscan_clusters} clusters, {result.hdbscan_noise:.0%} of persons "
                f"labelled noise (min cluster size {cfg.hdbscan_min_cluster_size}).",
            ),
        ],
        "subtitle": result.summary(),
    }
