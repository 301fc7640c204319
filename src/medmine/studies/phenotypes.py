"""Study `phenotypes`: patient phenotypes by clustering condition/drug/demographic covariates.

One row per consenting person (purpose ``research``); covariates come from
`medmine.features.covariates` ("any time prior" indicators of conditions and drug
ingredients, sex, race, ethnicity and 5-year age groups, index = the day after the person's
last observation). k-means picks k by silhouette and bootstrap stability, HDBSCAN gives a
density-based second opinion, and each cluster is profiled by the features over-represented
in it (lift, Fisher exact test, Benjamini–Hochberg).

>>> from medmine.warehouse import Warehouse
>>> result = run(Warehouse(":memory:"))  # doctest: +SKIP
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from medmine.errors import MedmineError
from medmine.mining.cluster import HDBSCANPhenotyper, KMeansPhenotyper, cluster_profiles, embed

#: Covariate analyses kept: binary indicators only (the continuous age is replaced by groups).
_BINARY_ANALYSES = ("gender", "race", "ethnicity", "age_group", "condition", "drug")


@dataclass(frozen=True)
class PhenotypeConfig:
    """Settings of the phenotypes study."""

    min_prevalence: float = 0.02
    max_prevalence: float = 0.95  # near-universal features carry no information
    k_range: tuple[int, int] = (2, 8)
    n_bootstrap: int = 8
    min_stability: float = 0.75
    n_components: int = 20
    hdbscan_min_cluster_size: int = 50
    #: HDBSCAN runs on fewer SVD components than k-means: densities flatten in many dimensions.
    hdbscan_components: int = 3
    alpha: float = 0.05
    purpose: str | None = "research"
    random_state: int = 0


@dataclass
class PhenotypeResult:
    """What the study found (aggregates only; person ids stay in `assignments`)."""

    config: PhenotypeConfig
    n_persons: int
    n_excluded: int
    features: pd.DataFrame  # feature, label, analysis, prevalence
    selection: pd.DataFrame  # k, silhouette, stability, inertia, chosen
    assignments: pd.DataFrame  # person_id, kmeans, hdbscan, x, y
    profiles: pd.DataFrame  # k-means cluster profiles
    hdbscan_profiles: pd.DataFrame
    hdbscan_clusters: int = 0
    hdbscan_noise: float = 0.0
    agreement_ari: float = float("nan")
    notes: list[str] = field(default_factory=list)

    @property
    def n_clusters(self) -> int:
        """Chosen k."""
        return int(self.selection.loc[self.selection["chosen"], "k"].iloc[0])


def person_covariates(wh: Any, cfg: PhenotypeConfig, person_ids_sql: str | None = None):
    """Binary covariates, one row per person: ``(X csr, person_ids, names, labels, analyses)``."""
    from medmine.features.covariates import CovariateSettings, extract_covariates

    where = f"WHERE p.person_id IN ({person_ids_sql})" if person_ids_sql else ""
    frame = wh.df(
        "SELECT p.person_id AS row_id, p.person_id, "
        "coalesce(max(o.observation_period_end_date), current_date) + 1 AS index_date "
        f"FROM person p LEFT JOIN observation_period o USING (person_id) {where} "
        "GROUP BY 1, 2 ORDER BY 1"
    )
    settings = CovariateSettings(
        demographics=True,
        age_groups=True,
        domains=("condition", "drug"),
        windows=(None,),
        visit_counts=False,
        include_labs=False,
        include_charlson=False,
        min_prevalence=cfg.min_prevalence,
    )
    m = extract_covariates(wh, SimpleNamespace(frame=frame), settings)
    ref = m.reference.reset_index(drop=True)
    X = (m.X > 0).astype(np.int8).tocsc()
    prevalence = np.asarray(X.mean(axis=0)).ravel() if X.shape[0] else np.zeros(X.shape[1])
    keep = ref["analysis"].isin(_BINARY_ANALYSES).to_numpy() & (prevalence <= cfg.max_prevalence)
    idx = np.flatnonzero(keep)
    labels = (
        ref["covariate_name"]
        .str.replace(r"\s*\[any,-1\]$", "", regex=True)
        .str.replace(r"^(condition|drug|race|ethnicity|gender):\d+ ", r"\1: ", regex=True)
    )
    return (
        X[:, idx].tocsr(),
        np.asarray(m.row_ids),
        [str(ref["covariate_id"].iloc[i]) for i in idx],
        [str(labels.iloc[i]) for i in idx],
        [str(ref["analysis"].iloc[i]) for i in idx],
        prevalence[idx],
    )


def run(wh: Any, config: PhenotypeConfig | None = None) -> PhenotypeResult:
    """Run the study on warehouse `wh`."""
    cfg = config or PhenotypeConfig()
    person_sql, excluded = None, 0
    if cfg.purpose:
        from medmine.privacy.consent import eligible_persons

        f = eligible_persons(wh, cfg.purpose)
        person_sql, excluded = f.person_ids_sql, f.excluded
    X, pids, names, labels, analyses, prev = person_covariates(wh, cfg, person_sql)
    if X.shape[0] <= cfg.k_range[1] * 10 or X.shape[1] < 2:
        raise MedmineError(
            f"phenotypes needs at least {cfg.k_range[1] * 10 + 1} persons with 2+ covariates; "
            f"the warehouse has {X.shape[0]} persons and {X.shape[1]} covariates "
            "(load data with `medmine ingest` first)"
        )
    km = KMeansPhenotyper(
        k_range=cfg.k_range,
        n_bootstrap=cfg.n_bootstrap,
        min_stability=cfg.min_stability,
        n_components=cfg.n_components,
        random_state=cfg.random_state,
    ).fit(X)
    hd = HDBSCANPhenotyper(
        min_cluster_size=cfg.hdbscan_min_cluster_size,
        n_components=cfg.hdbscan_components,
        random_state=cfg.random_state,
    ).fit(X)
    xy = embed(X, 2, cfg.random_state)
    core = hd.labels_ >= 0
    ari = (
        float(adjusted_rand_score(km.labels_[core], hd.labels_[core]))
        if core.sum() > 1
        else float("nan")
    )
    return PhenotypeResult(
        config=cfg,
        n_persons=int(X.shape[0]),
        n_excluded=int(excluded),
        features=pd.DataFrame(
            {"feature": names, "label": labels, "analysis": analyses, "prevalence": prev}
        ),
        selection=km.selection_,
        assignments=pd.DataFrame(
            {
                "person_id": pids,
                "kmeans": km.labels_,
                "hdbscan": hd.labels_,
                "x": xy[:, 0],
                "y": xy[:, 1] if xy.shape[1] > 1 else 0.0,
            }
        ),
        profiles=cluster_profiles(X, km.labels_, names, labels, alpha=cfg.alpha),
        hdbscan_profiles=cluster_profiles(X, hd.labels_, names, labels, alpha=cfg.alpha),
        hdbscan_clusters=hd.n_clusters_,
        hdbscan_noise=hd.noise_fraction_,
        agreement_ari=ari,
    )


def _top(profiles: pd.DataFrame, per_cluster: int = 8) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if profiles.empty:
        return rows
    for c, g in profiles.groupby("cluster", sort=True):
        for r in g.head(per_cluster).itertuples():
            rows.append(
                {
                    "cluster": int(c),
                    "feature": r.label if len(r.label) <= 80 else r.label[:77] + "...",
                    "in cluster": f"{r.prevalence_in:.0%}",
                    "rest": f"{r.prevalence_out:.0%}",
                    "lift": round(float(r.lift), 2) if np.isfinite(r.lift) else "inf",
                    "q (BH)": f"{r.q_value:.1e}",
                }
            )
    return rows


def summary(result: PhenotypeResult) -> str:
    """One line for the report index."""
    return (
        f"{result.n_persons:,} persons, k-means k={result.n_clusters} "
        f"(stability {result.selection.loc[result.selection['chosen'], 'stability'].iloc[0]:.2f}"
        f"), HDBSCAN {result.hdbscan_clusters} clusters ({result.hdbscan_noise:.0%} noise)"
    )


def write_page(result: PhenotypeResult, path: str | Path) -> Path:
    """Write the study page: selection curves, embedding, cluster sizes and profiles."""
    import plotly.express as px
    import plotly.graph_objects as go

    from medmine.report import figure_html, render_page, table_html

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
    body = (
        f"<div class='card'><span class='kpi'><b>{result.n_persons:,}</b>persons</span>"
        f"<span class='kpi'><b>{len(result.features)}</b>covariates</span>"
        f"<span class='kpi'><b>{result.n_clusters}</b>k-means clusters</span>"
        f"<span class='kpi'><b>{result.hdbscan_clusters}</b>HDBSCAN clusters</span>"
        f"<span class='kpi'><b>{result.agreement_ari:.2f}</b>ARI k-means vs HDBSCAN</span>"
        f"<span class='kpi'><b>{result.n_excluded:,}</b>excluded by consent</span></div>"
        "<p>Covariates: any-time-prior indicators of conditions and drug ingredients present in "
        f"{cfg.min_prevalence:.0%}–{cfg.max_prevalence:.0%} of persons, sex, race, ethnicity "
        "and 5-year age groups. k is the best silhouette among k whose mean adjusted Rand index "
        f"over {cfg.n_bootstrap} bootstrap refits is at least {cfg.min_stability}.</p>"
        + figure_html(fig_sel)
        + table_html(sel.round(3).to_dict("records"))
        + figure_html(fig_km)
        + "<h2>Cluster sizes</h2>"
        + table_html(sizes)
        + "<h2>Over-represented features per k-means cluster</h2>"
        "<p>Prevalence in the cluster vs the rest, lift = ratio, one-sided Fisher exact test, "
        f"Benjamini–Hochberg q ≤ {cfg.alpha} across all cluster × feature tests.</p>"
        + table_html(_top(result.profiles))
        + "<h2>HDBSCAN</h2>"
        + f"<p>{result.hdbscan_clusters} clusters, {result.hdbscan_noise:.0%} of persons "
        "labelled noise (min cluster size "
        f"{html.escape(str(cfg.hdbscan_min_cluster_size))}).</p>"
        + figure_html(fig_hd)
        + table_html(_top(result.hdbscan_profiles, 5))
    )
    return render_page(path, "Phenotypes", body, subtitle=summary(result))


def run_page(wh: Any, out_dir: str | Path, config: Any = None, **_: Any) -> Any:
    """Run the study on `wh`, write ``study_phenotypes.html``; returns the index `ReportLink`."""
    from medmine.report import ReportLink

    result = run(wh, config)
    page = write_page(result, Path(out_dir) / "study_phenotypes.html")
    return ReportLink("Phenotypes", page.name, summary(result))
