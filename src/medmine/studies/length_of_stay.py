"""Study `length_of_stay`: days in hospital predicted at admission, against simple baselines.

One row per inpatient stay (transfers merged, stays ending in death excluded); the target is
discharge minus admission in days. Covariates are those known on the admission day (window
end day 0: history plus what is recorded on the day of admission). A Poisson GLM (log link)
and LightGBM on log(1 + LOS) (with smearing back-transform) are compared with predicting the
training mean or median for everyone, on the same held-out persons: MAE, RMSE and R².

>>> from medmine.warehouse import Warehouse
>>> result = run(Warehouse("sim.duckdb"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from medmine.evaluate import person_train_test_split, regression_metrics
from medmine.evaluate.explain import explain
from medmine.evaluate.fairness import age_group, concept_label
from medmine.evaluate.plots import importance_figure
from medmine.features.tasks import length_of_stay as length_of_stay_definition
from medmine.mining.regress import (
    BaselineRegressor,
    LogTargetLightGBMRegressor,
    PoissonGLMRegressor,
)
from medmine.studies._binary import (
    add_checks,
    input_checks,
    require_day_resolution,
    warning_lines,
)
from medmine.studies._card import study_card
from medmine.studies._matrix import build_matrix
from medmine.studies.contract import FunctionStudy
from medmine.studies.prediction import PredictionResult, StudyConfig, start_result

NAME = "length_of_stay"
TITLE = "Length of inpatient stay, predicted at admission"


def _models(config: StudyConfig) -> dict[str, Any]:
    return {
        "Poisson GLM": PoissonGLMRegressor(alpha=1e-3, max_iter=300),
        "LightGBM (log target)": LogTargetLightGBMRegressor(random_state=config.random_state),
        "baseline: mean": BaselineRegressor("mean"),
        "baseline: median": BaselineRegressor("median"),
    }


def run(
    wh: Any, config: StudyConfig | None = None, *, definition: Any = None, data_source: str = ""
) -> PredictionResult:
    """Build the stays, fit the regressors and baselines, evaluate on held-out persons."""
    STUDY.check_data(wh)
    require_day_resolution(wh, NAME)
    config = config or StudyConfig()
    settings = dataclasses.replace(config.covariates, end_day=0)
    definition = definition or length_of_stay_definition()
    result, cohort = start_result(wh, NAME, TITLE, config, definition, data_source)
    summary = result.cohort_summary
    input_checks(result, wh, cohort, definition.entry.stays.visit_concept_ids)
    if config.note_features:
        result.notes.append(
            "note_features is not used by length of stay: its covariates include the admission "
            "day, and a note dated that day may hold the whole stay (a discharge summary dated "
            "at admission); the comparison with and without note features is made by the "
            "binary studies (readmission, disease_risk)."
        )
    if summary["rows"] < config.min_rows:
        result.notes.append(
            f"Cohort too small to fit a model: {summary['rows']} stays (need {config.min_rows})."
        )
        result.status = "warn"
        return result
    frame = cohort.frame.reset_index(drop=True)
    y = frame["target"].to_numpy(dtype=float)
    mat = build_matrix(wh, cohort, settings)
    tr, te = person_train_test_split(
        frame["person_id"], test_size=config.test_size, random_state=config.random_state
    )
    rows, preds = [], {}
    for name, model in _models(config).items():
        model.fit(mat.X[tr], y[tr])
        result.models[name] = model
        preds[name] = model.predict(mat.X[te])
        rows.append({"model": name, **regression_metrics(y[te], preds[name])})
    result.metrics = pd.DataFrame(rows)
    result.figures["predicted_vs_observed"] = _observed_figure(y[te], preds)
    groups = _group_errors(frame.iloc[te], y[te], preds)
    result.tables["Mean absolute error by group (test set)"] = groups
    importance = None
    for name in ("LightGBM (log target)", "Poisson GLM"):
        e = explain(
            result.models[name],
            mat.X[te],
            mat.names,
            max_rows=config.shap_rows,
            random_state=config.random_state,
        )
        result.figures[f"shap_{name}"] = importance_figure(
            e.importance, f"SHAP importance: {name}", unit="log days"
        )
        result.tables[f"Top predictors: {name} (mean |SHAP|, log scale)"] = e.importance.head(15)
        importance = e.importance if importance is None else importance
    # covariates include the admission day (end_day=0): the probe shows what that day holds
    add_checks(
        result,
        None,
        mat,
        cohort,
        dataclasses.replace(config, covariates=settings),
        wh=wh,
        test_rows=te,
    )
    best = result.metrics.iloc[:2].sort_values("mae").iloc[0]
    base = result.metrics.set_index("model").loc["baseline: median"]
    if best["mae"] >= base["mae"]:
        result.notes.append("No model beats the median baseline on MAE.")
        result.status = "warn"
    result.model_card = study_card(
        result,
        settings=settings,
        n_covariates=len(mat.names),
        metrics=result.metrics,
        split_method=f"person-level random split, {config.test_size:.0%} of persons",
        models=result.models,
        importance=importance,
        fairness={"model": "LightGBM (log target)", "audit": {"by_group": groups}},
        intended_use="estimate at admission the expected length of an inpatient stay (days)",
        limitations=[
            "Stays ending in death are excluded; their length is truncated by death.",
            "Internal validation only.",
            "Lengths are whole days (discharge date minus admission date).",
            *warning_lines(result),
        ],
    )
    return result


def _observed_figure(y: np.ndarray, preds: dict[str, np.ndarray]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, p in preds.items():
        if name.startswith("baseline"):
            continue
        df = pd.DataFrame({"p": p, "y": y})
        df["bin"] = pd.qcut(df["p"].rank(method="first"), 10, labels=False)
        b = df.groupby("bin").mean()
        fig.add_trace(go.Scatter(x=b["p"], y=b["y"], mode="lines+markers", name=name))
    hi = float(np.quantile(y, 0.99)) if len(y) else 1.0
    fig.add_trace(
        go.Scatter(x=[0, hi], y=[0, hi], mode="lines", name="perfect", line={"dash": "dash"})
    )
    fig.update_layout(
        title="Observed against predicted length of stay (deciles of prediction)",
        xaxis_title="mean predicted (days)",
        yaxis_title="mean observed (days)",
        height=420,
    )
    return fig


def _group_errors(frame: pd.DataFrame, y: np.ndarray, preds: dict[str, np.ndarray]) -> pd.DataFrame:
    cols = {
        "sex": frame["gender_concept_id"].map(concept_label).to_numpy(),
        "age group": age_group(frame["age_at_index"]).to_numpy(),
        "race": frame["race_concept_id"].map(concept_label).to_numpy(),
    }
    out = []
    for attribute, groups in cols.items():
        for g in pd.unique(groups):
            m = groups == g
            row = {"attribute": attribute, "group": g, "n": int(m.sum()), "mean_los": y[m].mean()}
            for name, p in preds.items():
                if not name.startswith("baseline"):
                    row[f"MAE {name}"] = float(np.mean(np.abs(p[m] - y[m])))
            out.append(row)
    return pd.DataFrame(out)


#: The registered study (`run` above is the Python API, with extras where it has them).
STUDY = FunctionStudy(
    NAME,
    TITLE,
    StudyConfig,
    run,
    requires=(("visit_occurrence", "load encounters, e.g. `medmine ingest fhir`"),),
)
