"""What a prediction study returns: `StudyConfig` in, `StudyResult` out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from medmine.evaluate.model_card import ModelCard
from medmine.features import CovariateSettings


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
        Which models to fit: ``"l1_logistic"``, ``"lightgbm"``.
    l1_grid, lightgbm_grid
        Hyperparameter grids (``None``: the defaults of `medmine.mining.classify`).
    covariates
        Covariate settings.
    shap_rows
        Test rows sampled for SHAP explanations.
    thresholds
        Risk thresholds for sensitivity/specificity/PPV/NPV.
    fairness_threshold
        Risk threshold for TPR/FPR in the fairness audit (``None``: the training outcome rate).
    min_rows, min_outcomes
        Below these the study is reported as too small to fit (and says so).
    model_dir
        If set, fitted models are saved there with `scoring.save_model`.
    random_state
        Seed for splits, folds, bootstrap and models.
    """

    test_size: float = 0.25
    temporal_cutoff: str | None = None
    n_splits: int = 3
    n_boot: int = 200
    models: tuple[str, ...] = ("l1_logistic", "lightgbm")
    l1_grid: dict | None = None
    lightgbm_grid: dict | None = None
    covariates: CovariateSettings = field(default_factory=CovariateSettings)
    shap_rows: int = 300
    thresholds: tuple[float, ...] = (0.1, 0.2, 0.3)
    fairness_threshold: float | None = None
    min_rows: int = 200
    min_outcomes: int = 20
    model_dir: Path | None = None
    random_state: int = 0


@dataclass
class StudyResult:
    """A finished study: cohort, metrics, figures, model card and fitted models.

    `metrics` has one row per model evaluated on the same test set; `tables` holds further
    frames (thresholds, fairness, importance, baselines); `figures` Plotly figures by name;
    `notes` plain-language caveats shown on the page (for example "too small").
    """

    name: str
    title: str
    data_source: str
    cohort_summary: dict[str, Any]
    attrition: list[Any]
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    figures: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    model_card: ModelCard | None = None
    models: dict[str, Any] = field(default_factory=dict)
    saved_models: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | warn | fail
    definition: Any = None

    def metric(self, model: str, column: str) -> float:
        """One value of the metrics table."""
        return float(self.metrics.set_index("model").loc[model, column])
