"""What a prediction study takes and returns: `StudyConfig` in, `PredictionResult` out.

Also the cohort summary and attrition rows every prediction page and model card show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from medmine.evaluate.model_card import ModelCard
from medmine.features import CovariateSettings, build_cohort
from medmine.studies.contract import StudyResult


@dataclass
class StudyConfig:
    """Settings shared by the prediction studies (modest defaults: fast on two cores).

    Parameters
    ----------
    test_size
        Share of persons held out for testing (person-level split).
    temporal_cutoff
        If set (ISO date), validate temporally instead: train on index dates before it, test
        on index dates from it on (persons with rows after it are test-only).
    n_splits
        Person-level folds for hyperparameter search and calibration.
    n_boot
        Bootstrap replicates for confidence intervals.
    models
        Which models to fit: ``"l1_logistic"``, ``"lightgbm"``, ``"decision_tree"`` (CART,
        depth-limited, cost-complexity pruned; shown as rules).
    tree_max_depth, tree_min_leaf
        Depth limit and smallest leaf of the decision tree.
    l1_grid, lightgbm_grid
        Hyperparameter grids (``None``: the defaults of `medmine.mining.classify`).
    covariates
        Covariate settings.
    note_features
        Add note-derived covariates (affirmed patient mentions in `note_nlp`, dated by their
        note, before the index date; `medmine.features.notes`) and report each model's AUROC
        with and without them on the same test persons, with a paired bootstrap CI of the
        difference (binary studies). Off by default; needs `medmine notes nlp` first.
    shap_rows
        Test rows sampled for SHAP explanations.
    thresholds
        Risk thresholds for sensitivity/specificity/PPV/NPV.
    fairness_threshold
        Risk threshold for TPR/FPR in the fairness audit (``None``: the training outcome rate).
    min_rows, min_outcomes
        Below these the study is reported as too small to fit (and says so).
    leakage_probe
        Recompute the test rows' covariates with every event on or after the index date
        deleted and report any change (`medmine.evaluate.leakage`).
    model_dir
        If set, fitted models are saved there with `scoring.save_model`.
    random_state
        Seed for splits, folds, bootstrap and models.
    """

    test_size: float = 0.25
    temporal_cutoff: str | None = None
    n_splits: int = 3
    n_boot: int = 200
    models: tuple[str, ...] = ("l1_logistic", "lightgbm", "decision_tree")
    tree_max_depth: int = 4
    tree_min_leaf: int = 20
    l1_grid: dict | None = None
    lightgbm_grid: dict | None = None
    covariates: CovariateSettings = field(default_factory=CovariateSettings)
    note_features: bool = False
    shap_rows: int = 300
    thresholds: tuple[float, ...] = (0.1, 0.2, 0.3)
    fairness_threshold: float | None = None
    min_rows: int = 200
    min_outcomes: int = 20
    leakage_probe: bool = True
    model_dir: Path | None = None
    random_state: int = 0


@dataclass(kw_only=True)
class PredictionResult(StudyResult):
    """A finished prediction study: cohort, metrics, figures, model card and fitted models.

    `metrics` has one row per model evaluated on the same test set; `tables` holds further
    frames (thresholds, fairness, importance, baselines); `figures` Plotly figures by name;
    `notes` plain-language caveats shown on the page (for example "too small").
    """

    cohort_summary: dict[str, Any]
    attrition: list[Any]
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    figures: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    model_card: ModelCard | None = None
    models: dict[str, Any] = field(default_factory=dict)
    saved_models: dict[str, Path] = field(default_factory=dict)
    definition: Any = None
    warnings: list[Any] = field(default_factory=list)
    feature_domains: pd.DataFrame = field(default_factory=pd.DataFrame)
    leakage: Any = None
    note_comparison: Any = None

    def warn(self, warning: Any) -> None:
        """Add a plausibility warning (and mark the study ``warn``)."""
        self.warnings.append(warning)
        if self.status == "ok":
            self.status = "warn"

    def metric(self, model: str, column: str) -> float:
        """One value of the metrics table."""
        return float(self.metrics.set_index("model").loc[model, column])

    def summary(self) -> str:
        """Rows and each model's AUROC with its CI (or MAE and R²), or "not fitted"."""
        m = self.metrics
        if not m.empty and "auroc" in m:
            head = "; ".join(
                f"{r.model} AUROC {r.auroc:.3f} ({r.auroc_lower:.3f}–{r.auroc_upper:.3f})"
                for r in m.itertuples()
                if "recalibrated" not in str(r.model)
            )
        elif not m.empty:
            head = "; ".join(f"{r.model} MAE {r.mae:.2f}, R² {r.r2:.3f}" for r in m.itertuples())
        else:
            head = "not fitted"
        rows = self.cohort_summary.get("rows", 0)
        return f"{rows:,} rows; {head}"

    def key_figures(self) -> dict[str, Any]:
        """Cohort summary and the metrics of every model."""
        return {
            "cohort": dict(self.cohort_summary),
            "metrics": self.metrics.to_dict("records"),
            "saved_models": {k: str(v) for k, v in self.saved_models.items()},
            "warnings": [w.to_dict() for w in self.warnings],
            "feature_domains": self.feature_domains.to_dict("records"),
        } | (
            {"note_features": self.note_comparison.to_dict()}
            if self.note_comparison is not None
            else {}
        )

    def output_tables(self) -> dict[str, pd.DataFrame]:
        """Metrics, attrition and every table shown on the page (ids never included)."""
        out: dict[str, pd.DataFrame] = {}
        if not self.metrics.empty:
            out["metrics"] = self.metrics
        if self.attrition:
            out["attrition"] = pd.DataFrame(
                [
                    {"step": s.description, "persons": s.persons, "rows": s.rows}
                    for s in self.attrition
                ]  # fmt: skip
            )
        if self.warnings:
            out["plausibility_warnings"] = pd.DataFrame([w.to_dict() for w in self.warnings])
        if not self.feature_domains.empty:
            out["feature_domains"] = self.feature_domains
        if self.note_comparison is not None and not self.note_comparison.table.empty:
            out["note_features_comparison"] = self.note_comparison.table
        for title, table in self.tables.items():
            if table is not None and not table.empty:
                out[slug(title)] = table
        return out


def slug(title: str) -> str:
    """A file-name stem for a table title: lower-case words joined by underscores."""
    import re

    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:60] or "table"


def cohort_summary(cohort: Any) -> dict[str, Any]:
    """Rows, persons, outcome count and rate, index-date range of a built cohort."""
    f = cohort.frame
    out: dict[str, Any] = {
        "rows": int(len(f)),
        "persons": int(f["person_id"].nunique()) if len(f) else 0,
        "outcomes": int(f["outcome"].sum()) if len(f) else 0,
        "outcome_rate": float(f["outcome"].mean()) if len(f) else float("nan"),
    }
    if len(f):
        d = pd.to_datetime(f["index_date"])
        out["index_dates"] = f"{d.min().date()} to {d.max().date()}"
    if "death_in_window" in f:
        out["deaths_in_window"] = int(f["death_in_window"].sum()) if len(f) else 0
    if "target" in f and len(f):
        out["target_mean"] = float(f["target"].mean())
        out["target_median"] = float(f["target"].median())
    return out


def attrition_rows(attrition: list[Any]) -> list[dict[str, Any]]:
    """Attrition steps as table rows (with the rows removed by each step)."""
    rows, prev = [], None
    for s in attrition:
        rows.append(
            {
                "step": s.description,
                "persons": s.persons,
                "rows": s.rows,
                "rows removed": None if prev is None else max(prev - s.rows, 0),
            }
        )
        # the consent step counts eligible persons, not cohort rows: nothing to subtract from
        prev = None if s.description.startswith("consent") else s.rows
    return rows


def start_result(
    wh: Any,
    name: str,
    title: str,
    config: StudyConfig,
    definition: Any,
    data_source: str | None = None,
) -> tuple[PredictionResult, Any]:
    """Build the consented cohort of `definition` and the result every prediction study fills.

    Returns ``(result, cohort)``; the data source defaults to the warehouse file name (never
    its folder, which may carry a name).
    """
    cohort = build_cohort(wh, definition, purpose="research")
    result = PredictionResult(
        name=name,
        title=title,
        data_source=data_source or f"warehouse {Path(str(wh.path)).name}",
        config=config,
        cohort_summary=cohort_summary(cohort),
        attrition=cohort.attrition,
        definition=definition,
    )
    return result, cohort
