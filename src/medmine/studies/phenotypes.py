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

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from medmine.features.persons import select_persons
from medmine.mining.cluster import HDBSCANPhenotyper, KMeansPhenotyper, cluster_profiles, embed
from medmine.studies.contract import FunctionStudy, MissingDataError, StudyResult

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


@dataclass(kw_only=True)
class PhenotypeResult(StudyResult):
    """What the study found (aggregates only; person ids stay in `assignments`)."""

    name: str = "phenotypes"
    title: str = "Phenotypes"
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

    @property
    def n_clusters(self) -> int:
        """Chosen k."""
        return int(self.selection.loc[self.selection["chosen"], "k"].iloc[0])

    @property
    def stability(self) -> float:
        """Bootstrap stability (mean ARI) of the chosen k."""
        return float(self.selection.loc[self.selection["chosen"], "stability"].iloc[0])

    def summary(self) -> str:
        """One line for the report index."""
        return (
            f"{self.n_persons:,} persons, k-means k={self.n_clusters} "
            f"(stability {self.stability:.2f}), HDBSCAN {self.hdbscan_clusters} clusters "
            f"({self.hdbscan_noise:.0%} noise)"
        )

    def key_figures(self) -> dict[str, Any]:
        """Persons, covariates, chosen k and its stability, HDBSCAN figures, agreement."""
        return {
            "persons": self.n_persons,
            "excluded_by_consent": self.n_excluded,
            "covariates": len(self.features),
            "kmeans_k": self.n_clusters,
            "kmeans_stability": self.stability,
            "hdbscan_clusters": self.hdbscan_clusters,
            "hdbscan_noise": self.hdbscan_noise,
            "agreement_ari": self.agreement_ari,
        }

    def output_tables(self) -> dict[str, pd.DataFrame]:
        """Covariates, k selection, cluster sizes and profiles (no person ids)."""
        sizes = self.assignments["kmeans"].value_counts().sort_index()
        return {
            "features": self.features,
            "k_selection": self.selection,
            "cluster_sizes": sizes.rename_axis("cluster").reset_index(name="persons"),
            "kmeans_profiles": self.profiles,
            "hdbscan_profiles": self.hdbscan_profiles,
        }


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
    STUDY.check_data(wh)
    cfg = config or PhenotypeConfig()
    persons = select_persons(wh, cfg.purpose)
    person_sql, excluded = persons.person_ids_sql, persons.excluded
    X, pids, names, labels, analyses, prev = person_covariates(wh, cfg, person_sql)
    if X.shape[0] <= cfg.k_range[1] * 10 or X.shape[1] < 2:
        raise MissingDataError(
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


#: The registered study (`run` above is the Python API, with extras where it has them).
STUDY = FunctionStudy(
    "phenotypes",
    "Phenotypes",
    PhenotypeConfig,
    run,
    requires=(("person", "load persons, e.g. `medmine ingest omop` or `ingest fhir`"),),
)
