"""Cohort summaries and TRIPOD+AI-oriented model cards of prediction studies."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from medmine.evaluate.model_card import ModelCard
from medmine.studies.prediction import PredictionResult, attrition_rows


def build_card(
    *,
    name: str,
    title: str,
    data_source: str,
    definition: Any,
    summary: dict[str, Any],
    attrition: list[Any],
    settings: Any,
    n_covariates: int,
    metrics: pd.DataFrame,
    split_method: str,
    models: dict[str, Any] | None = None,
    importance: pd.DataFrame | None = None,
    fairness: Any = None,
    intended_use: str,
    limitations: list[str],
) -> ModelCard:
    """Assemble a TRIPOD+AI-oriented model card from the pieces of a study."""
    import lightgbm
    import sklearn

    from medmine import __version__

    perf_cols = [
        c for c in metrics.columns if c not in ("calibration_slope", "calibration_intercept")
    ]
    cal_cols = ["model", "calibration_slope", "calibration_intercept", "brier"]
    return ModelCard(
        model_details={
            "study": name,
            "title": title,
            "models": {
                k: type(m).__name__ + f" {getattr(m, 'best_params_', '')}"
                for k, m in (models or {}).items()
            },
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "software": {
                "medmine": __version__,
                "scikit-learn": sklearn.__version__,
                "lightgbm": lightgbm.__version__,
            },
            "validation": split_method,
        },
        intended_use={
            "purpose": intended_use,
            "users": "analysts and clinical researchers evaluating risk models",
            "out_of_scope": "unsupervised clinical decisions; populations unlike the cohort",
            "consent_purpose": "research",
        },
        data={"source": data_source, **{k: v for k, v in summary.items() if k != "rows"}},
        cohort={
            "definition": definition.to_dict() if hasattr(definition, "to_dict") else definition,
            "rows": summary.get("rows"),
            "attrition": attrition_rows(attrition),
        },
        predictors={
            "covariate_settings": settings.to_dict() if hasattr(settings, "to_dict") else settings,
            "n_covariates": n_covariates,
            "top_predictors": [] if importance is None else importance.head(15),
        },
        performance={
            "test_set": split_method,
            "metrics": metrics[[c for c in perf_cols if c in metrics]],
        },
        calibration={"metrics": metrics[[c for c in cal_cols if c in metrics]]},
        fairness={}
        if fairness is None
        else {"model": fairness.get("model"), **fairness.get("audit", {})},
        limitations=limitations,
    )


def study_card(result: PredictionResult, **details: Any) -> ModelCard:
    """`build_card` with the study's name, title, data source and cohort taken from `result`."""
    return build_card(
        name=result.name,
        title=result.title,
        data_source=result.data_source,
        definition=result.definition,
        summary=result.cohort_summary,
        attrition=result.attrition,
        **details,
    )
